package convert

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// inputExts are the file name extensions read from a directory.
var inputExts = []string{".yaml", ".yml", ".json"}

// Run is `kubectl cairn convert -f PATH...`: it reads every path ("-" is
// stdin; a directory is every .yaml, .yml and .json file in it, sorted by
// name, not recursing), converts the KubeStash objects, writes the Cairn
// YAML to stdout and every warning, note and refusal to stderr. It returns
// an *IncompleteError when an input could not be read or an object was
// refused (the output then holds what converted), or the error of writing
// stdout.
func Run(paths []string, stdout, stderr io.Writer) error {
	files, byFile := []string{}, map[string][]Document{}
	unreadable := 0
	add := func(name string, r io.Reader) {
		docs, errs := Decode(name, r)
		for _, e := range errs {
			fmt.Fprintf(stderr, "error: %v\n", e)
			unreadable++
		}
		if _, seen := byFile[name]; !seen {
			files = append(files, name)
		}
		byFile[name] = append(byFile[name], docs...)
	}
	for _, p := range paths {
		names, err := expandPath(p)
		if err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			unreadable++
			continue
		}
		for _, name := range names {
			if name == "-" {
				add("-", os.Stdin)
				continue
			}
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintf(stderr, "error: %v\n", err)
				unreadable++
				continue
			}
			add(name, f)
			f.Close()
		}
	}
	res := ConvertAll(byFile, files)
	if err := res.WriteYAML(stdout); err != nil {
		return err
	}
	res.Report(stderr)
	if unreadable > 0 || len(res.Refused) > 0 {
		return &IncompleteError{Unreadable: unreadable, Refused: len(res.Refused)}
	}
	return nil
}

// expandPath is the files a path names: itself, or a directory's inputs.
func expandPath(p string) ([]string, error) {
	if p == "-" {
		return []string{"-"}, nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || !contains(inputExts, strings.ToLower(filepath.Ext(e.Name()))) {
			continue
		}
		out = append(out, filepath.Join(p, e.Name()))
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no .yaml, .yml or .json files", p)
	}
	return out, nil
}

// Report writes the notes, warnings and refusals for a person, one a line.
// A note that many objects share (the data format) is written once, with
// how many more objects it is about; each object's comment still says it.
func (r *Result) Report(w io.Writer) {
	more := map[string]int{}
	var first []Warning
	for _, n := range r.Notes {
		key := n.Field + "\x00" + n.Msg
		if _, seen := more[key]; !seen {
			first = append(first, n)
		}
		more[key]++
	}
	for _, n := range first {
		switch k := more[n.Field+"\x00"+n.Msg] - 1; {
		case k == 1:
			fmt.Fprintf(w, "note: %s (and 1 more object)\n", n)
			continue
		case k > 1:
			fmt.Fprintf(w, "note: %s (and %d more objects)\n", n, k)
			continue
		}
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", x)
	}
	for _, e := range r.Refused {
		fmt.Fprintf(w, "error: %v\n", e)
	}
}
