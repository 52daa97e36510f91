package convert

import (
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// mapping is a Cairn mapping being built, with the node a comment about it
// is written on: the key under which it sits in its parent (or, for a list
// item, its first key; for the object itself, apiVersion).
type mapping struct {
	node   *yaml.Node
	anchor *yaml.Node
	// pending are notes made before the mapping had a key to write them on.
	pending []string
}

// newMapping is an empty mapping; its anchor is set by the first key when
// it has none.
func newMapping() *mapping {
	return &mapping{node: &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}}
}

// set adds or replaces key with value and returns the key node.
func (m *mapping) set(key string, value *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(m.node.Content); i += 2 {
		if m.node.Content[i].Value == key {
			m.node.Content[i+1] = value
			return m.node.Content[i]
		}
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	m.node.Content = append(m.node.Content, k, value)
	if m.anchor == nil {
		m.anchor = k
		for _, p := range m.pending {
			addComment(k, p)
		}
		m.pending = nil
	}
	return k
}

// get is the value under key, or nil.
func (m *mapping) get(key string) *yaml.Node { return lookup(m.node, key) }

// child is the mapping under key, created when missing.
func (m *mapping) child(key string) *mapping {
	for i := 0; i+1 < len(m.node.Content); i += 2 {
		if m.node.Content[i].Value == key && m.node.Content[i+1].Kind == yaml.MappingNode {
			return &mapping{node: m.node.Content[i+1], anchor: m.node.Content[i]}
		}
	}
	c := newMapping()
	c.anchor = m.set(key, c.node)
	return c
}

// setString sets key to a plain string scalar.
func (m *mapping) setString(key, value string) *yaml.Node {
	return m.set(key, str(value))
}

// remove deletes key if present.
func (m *mapping) remove(key string) {
	for i := 0; i+1 < len(m.node.Content); i += 2 {
		if m.node.Content[i].Value == key {
			m.node.Content = append(m.node.Content[:i], m.node.Content[i+2:]...)
			return
		}
	}
}

// empty reports a mapping without keys.
func (m *mapping) empty() bool { return len(m.node.Content) == 0 }

// note writes a comment line above the mapping's anchor. A mapping that
// has no key yet keeps the note until it gets one.
func (m *mapping) note(text string) {
	if m.anchor == nil {
		m.pending = append(m.pending, text)
		return
	}
	addComment(m.anchor, text)
}

// addComment appends a comment line above n.
func addComment(n *yaml.Node, text string) {
	line := "# " + printable(text)
	if n.HeadComment == "" {
		n.HeadComment = line
		return
	}
	n.HeadComment += "\n" + line
}

// lineComment sets the comment at the end of n's line.
func lineComment(n *yaml.Node, text string) {
	n.LineComment = "# " + printable(text)
}

// printable replaces what is not a printable character in s (line breaks
// of any kind YAML knows, terminal escapes) with "?": names taken from
// untrusted input end up in comments and on a terminal, and must neither
// end a comment line nor drive the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
}

// str is a string scalar node (the encoder quotes it when YAML would
// read it as another type).
func str(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
}

// intNode is an integer scalar node.
func intNode(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: v}
}

// seq is an empty sequence node.
func seq() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"} }
