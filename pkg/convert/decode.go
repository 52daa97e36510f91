package convert

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxInputBytes bounds one input file, so that a mistaken path (a disk
// image, /dev/zero) fails fast instead of filling memory.
const MaxInputBytes = 32 << 20

// Document is one Kubernetes object read from an input: a YAML mapping with
// where it came from.
type Document struct {
	// Source is "file:line" of the object.
	Source string
	// Node is the object's mapping node, as written (comments, order and
	// quoting kept, so that objects passed through stay as they were).
	Node *yaml.Node
}

// APIVersion is the object's apiVersion, or "".
func (d Document) APIVersion() string { return scalar(lookup(d.Node, "apiVersion")) }

// Kind is the object's kind, or "".
func (d Document) Kind() string { return scalar(lookup(d.Node, "kind")) }

// Decode reads every object in r: multi-document YAML, JSON, and `List`
// objects (kind List or any *List with items), whose items become
// documents of their own. name is used in Source ("-" for stdin). It
// returns the documents it could read and a *DecodeError for each part it
// could not; a YAML syntax error ends the file.
func Decode(name string, r io.Reader) ([]Document, []error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, []error{&DecodeError{Source: name, Msg: err.Error()}}
	}
	if len(data) > MaxInputBytes {
		return nil, []error{&DecodeError{Source: name, Msg: fmt.Sprintf("larger than %d MiB", MaxInputBytes>>20)}}
	}
	var docs []Document
	var errs []error
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, &DecodeError{Source: name, Msg: "not YAML or JSON: " + err.Error()})
			break
		}
		if len(n.Content) == 0 || isNull(n.Content[0]) {
			continue // an empty document between two "---"
		}
		d, e := expand(name, n.Content[0])
		docs = append(docs, d...)
		errs = append(errs, e...)
	}
	return docs, errs
}

// expand turns one decoded document into objects, unpacking Lists.
func expand(name string, n *yaml.Node) ([]Document, []error) {
	src := fmt.Sprintf("%s:%d", printable(name), n.Line)
	if n.Kind != yaml.MappingNode {
		return nil, []error{&DecodeError{Source: src, Msg: "a document is not an object (a mapping with apiVersion and kind)"}}
	}
	d := Document{Source: src, Node: n}
	items := lookup(n, "items")
	if strings.HasSuffix(d.Kind(), "List") && items != nil {
		if items.Kind != yaml.SequenceNode {
			return nil, []error{&DecodeError{Source: src, Msg: printable(d.Kind()) + ".items is not a list"}}
		}
		var docs []Document
		var errs []error
		for _, it := range items.Content {
			sub, e := expand(name, it)
			docs = append(docs, sub...)
			errs = append(errs, e...)
		}
		return docs, errs
	}
	if d.APIVersion() == "" || d.Kind() == "" {
		return nil, []error{&DecodeError{Source: src, Msg: "an object without apiVersion or kind"}}
	}
	return []Document{d}, nil
}

// lookup is the value at the path of keys in mapping n, or nil. Aliases
// are followed.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, key := range keys {
		n = deref(n)
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return deref(n)
}

// maxAliasHops bounds alias chains; yaml.v3 refuses cycles, this is belt
// and braces for hand-built nodes.
const maxAliasHops = 16

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i == maxAliasHops {
			return nil
		}
		n = n.Alias
	}
	return n
}

// scalar is the value of a scalar node, or "".
func scalar(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		return ""
	}
	return n.Value
}

// isNull reports a missing or explicitly null value ("key:" or "key: null"),
// which KubeStash's decoder treats as absent and so does the converter.
func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}
