package convert

import (
	"bytes"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// WriteYAML writes the converted objects as one multi-document YAML
// stream, each with a comment naming the KubeStash object it came from.
func (r *Result) WriteYAML(w io.Writer) error {
	var buf bytes.Buffer
	for _, o := range r.Objects {
		buf.Reset()
		doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{o.Node}}
		how := "converted from"
		if o.Passthrough {
			how = "passed through unchanged:"
		}
		doc.HeadComment = fmt.Sprintf("# kubectl cairn convert: %s %s (%s)", how, o.From, o.Source)
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("writing %s: %w", o.From, err)
		}
		if err := enc.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", o.From, err)
		}
		if _, err := io.WriteString(w, "---\n"); err != nil {
			return err
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
