package convert

import (
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// maxNodes bounds the nodes one object may expand to when aliases are
// followed, so that a "billion laughs" document fails instead of eating
// memory.
const maxNodes = 200000

// ctx is the conversion of one object: where it came from, what was said
// about it, and whether it was refused.
type ctx struct {
	file    string
	doc     Document
	object  string
	index   *index
	warns   []Warning
	refused *RefusedError
	budget  int
	// state are the cluster-state fields dropped (see clusterState), and
	// stateAt the first of them.
	state   []string
	stateAt *yaml.Node
}

// rule says what happens to one KubeStash field: copied (under to, or its
// own name), converted by conv, or dropped with the reason in drop.
type rule struct {
	to   string
	conv func(c *ctx, path string, v *yaml.Node, out *mapping)
	drop string
}

// fields is the field map of one KubeStash object type: every field it
// knows is listed, so that none is lost silently. A field missing from the
// map is dropped with a warning too.
type fields map[string]rule

// keep copies the field under the same name.
var keep = rule{}

// as copies the field under another name.
func as(to string) rule { return rule{to: to} }

// via converts the field with f.
func via(f func(c *ctx, path string, v *yaml.Node, out *mapping)) rule { return rule{conv: f} }

// dropped drops the field, saying why.
func dropped(why string) rule { return rule{drop: why} }

// sub converts a nested object with its own field map.
func sub(fm fields) rule {
	return via(func(c *ctx, path string, v *yaml.Node, out *mapping) {
		c.apply(path, v, out.child(last(path)), fm)
	})
}

// subAs converts a nested object into a Cairn field of another name.
func subAs(to string, fm fields) rule {
	return via(func(c *ctx, path string, v *yaml.Node, out *mapping) {
		c.apply(path, v, out.child(to), fm)
	})
}

// apply walks the KubeStash mapping in (at path) and fills out by fm.
func (c *ctx) apply(path string, in *yaml.Node, out *mapping, fm fields) {
	in = deref(in)
	if in == nil || c.refused != nil {
		return
	}
	if in.Kind != yaml.MappingNode {
		c.drop(out, in, path, "is not an object")
		return
	}
	for i := 0; i+1 < len(in.Content); i += 2 {
		k, v := in.Content[i], deref(in.Content[i+1])
		p := join(path, k.Value)
		if isNull(v) || c.refused != nil {
			continue
		}
		r, ok := fm[k.Value]
		switch {
		case (!ok || r.drop != "") && emptyCollection(v):
			// "{}" or "[]" (as kubectl get prints unset structs) says
			// nothing that could be lost.
		case !ok:
			c.drop(out, k, p, "not a KubeStash field this converter knows")
		case r.drop != "":
			c.drop(out, k, p, r.drop)
		case r.conv != nil:
			r.conv(c, p, v, out)
		default:
			to := r.to
			if to == "" {
				to = k.Value
			}
			out.set(to, c.clone(v))
		}
	}
}

// drop records a field Cairn cannot carry: a warning, and a comment beside
// the nearest Cairn field.
func (c *ctx) drop(out *mapping, at *yaml.Node, path, why string) {
	c.warn(out, at, path, "dropped: "+why)
}

// warn records a warning about path and writes it as a comment on out.
func (c *ctx) warn(out *mapping, at *yaml.Node, path, msg string) {
	line := c.doc.Node.Line
	if at != nil && at.Line > 0 {
		line = at.Line
	}
	c.warns = append(c.warns, Warning{Source: fmt.Sprintf("%s:%d", printable(c.file), line), Object: c.object, Field: printable(path), Msg: printable(msg)})
	if out != nil {
		out.note(path + ": " + msg)
	}
}

// refuse marks the object as not convertible.
func (c *ctx) refuse(reason, instead string) {
	if c.refused == nil {
		c.refused = &RefusedError{Source: c.doc.Source, Object: c.object, Reason: printable(reason), Instead: instead}
	}
}

// clone is a deep copy of n with aliases expanded, so that the output
// stands alone. Input comments are kept: they are the user's.
func (c *ctx) clone(n *yaml.Node) *yaml.Node {
	n = deref(n)
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	c.budget--
	if c.budget < 0 {
		c.refuse(fmt.Sprintf("it expands to more than %d YAML nodes (aliases)", maxNodes), "write the object out without YAML aliases")
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	cp := *n
	cp.Anchor = ""
	cp.Line, cp.Column = 0, 0
	// Block style and plain scalars whatever the input (JSON is flow style
	// and quoted throughout); the encoder quotes what must be quoted.
	// Literal and folded text stays as written.
	cp.Style &^= yaml.FlowStyle | yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		cp.Content = make([]*yaml.Node, len(n.Content))
		for i, ch := range n.Content {
			cp.Content[i] = c.clone(ch)
		}
	}
	return &cp
}

// each calls f for every item of the KubeStash list v at path; a value
// that is not a list is dropped.
func (c *ctx) each(path string, v *yaml.Node, out *mapping, f func(path string, item *yaml.Node)) {
	if v.Kind != yaml.SequenceNode {
		c.drop(out, v, path, "is not a list")
		return
	}
	for i, it := range v.Content {
		f(fmt.Sprintf("%s[%d]", path, i), deref(it))
	}
}

// list converts a list of objects into out[to] with f; items f leaves
// empty are left out.
func (c *ctx) list(path string, v *yaml.Node, out *mapping, to string, f func(path string, item *yaml.Node, o *mapping)) {
	s := seq()
	key := out.set(to, s)
	c.each(path, v, out, func(p string, item *yaml.Node) {
		o := newMapping()
		f(p, item, o)
		if !o.empty() {
			s.Content = append(s.Content, o.node)
		} else {
			// Nothing to write the item's notes beside: its list takes them.
			for _, n := range o.pending {
				addComment(key, n)
			}
		}
	})
	if len(s.Content) == 0 {
		out.remove(to)
	}
}

// stringMap copies a map whose values Cairn keeps as strings (task and
// hook params): scalars become strings, anything else is dropped.
func stringMap(c *ctx, path string, v *yaml.Node, out *mapping) {
	if v.Kind != yaml.MappingNode {
		c.drop(out, v, path, "is not a map of strings")
		return
	}
	m := out.child(last(path))
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], deref(v.Content[i+1])
		if val == nil || val.Kind != yaml.ScalarNode {
			c.drop(m, k, join(path, k.Value), "Cairn parameters are strings; write the value as one")
			continue
		}
		s := str(val.Value)
		if isNull(val) {
			s = str("")
		}
		m.set(k.Value, s)
	}
	if m.empty() {
		out.remove(last(path))
	}
}

// emptyCollection reports "{}" or "[]".
func emptyCollection(n *yaml.Node) bool {
	return (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && len(n.Content) == 0
}

// join appends key to a field path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// last is the last key of a field path.
func last(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '.' {
			return path[i+1:]
		}
	}
	return path
}

// intValue parses an integer scalar.
func intValue(n *yaml.Node) (int64, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	return v, err == nil
}
