// Package printer writes what `kubectl cairn` commands return the way
// kubectl does: an aligned table with upper-case headers by default, or
// the whole result as JSON or YAML with -o, so scripts read the same
// fields the table shows.
package printer

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/client/clientset/versioned/scheme"
)

// Format is an output format: Table (the default), JSON or YAML.
type Format string

const (
	// Table is kubectl's human-readable columns.
	Table Format = ""
	// JSON is indented JSON.
	JSON Format = "json"
	// YAML is YAML.
	YAML Format = "yaml"
)

// ErrFormat is returned for an -o value other than json or yaml.
type ErrFormat struct{ Value string }

// Error says which formats there are.
func (e *ErrFormat) Error() string {
	return fmt.Sprintf("unknown output format %q: use -o json or -o yaml (or no -o for a table)", e.Value)
}

// ParseFormat reads an -o value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case Table, JSON, YAML:
		return f, nil
	}
	return "", &ErrFormat{Value: s}
}

// Write prints v as JSON or YAML. A Cairn object from a typed client
// (whose apiVersion and kind the client leaves empty) gets them back, so
// the output can be applied again.
func Write(w io.Writer, f Format, v any) error {
	if obj, ok := v.(runtime.Object); ok {
		if gvks, _, err := scheme.Scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
			obj = obj.DeepCopyObject()
			obj.GetObjectKind().SetGroupVersionKind(gvks[0])
			v = obj
		}
	}
	switch f {
	case JSON:
		b, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case YAML:
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("encoding YAML: %w", err)
		}
		_, err = w.Write(b)
		return err
	}
	return fmt.Errorf("Write needs -o json or yaml, not %q", f)
}

// Columns writes rows under headers, aligned with two spaces between
// columns as kubectl does; an empty cell is shown as "<none>".
func Columns(w io.Writer, headers []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			if c == "" {
				c = "<none>"
			}
			cells[i] = c
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// WithNamespace returns headers and rows whose first cell is the
// namespace: with a NAMESPACE column when all is set (kubectl -A), without
// that cell otherwise.
func WithNamespace(headers []string, rows [][]string, all bool) ([]string, [][]string) {
	if all {
		return append([]string{"NAMESPACE"}, headers...), rows
	}
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r[1:]
	}
	return headers, out
}

// Age is how long ago t was, in kubectl's short form ("5m", "3h12m",
// "2d"), or "" for the zero time. A time in the future is "in 5m".
func Age(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	if t.After(now) {
		return "in " + duration.HumanDuration(t.Sub(now))
	}
	return duration.HumanDuration(now.Sub(t)) + " ago"
}
