package crs

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
)

// Dropped lists the fields of sent that stored lacks or holds with another
// value, as JSON paths (".spec.x[0].y"). Fields the API server adds
// (defaults, metadata, status) are ignored: it answers "did everything I
// wrote survive?", which strict field validation alone does not for values a
// schema default or a mutating step might replace. Metadata set by the server
// (uid, resourceVersion...) is never in a sample, so comparing whole objects
// is safe.
func Dropped(sent, stored map[string]any) []string {
	var out []string
	dropped(".", sent, stored, &out)
	sort.Strings(out)
	return out
}

func dropped(path string, sent, stored any, out *[]string) {
	switch s := sent.(type) {
	case map[string]any:
		g, ok := stored.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: sent an object, stored %T", path, stored))
			return
		}
		for k, v := range s {
			child := path + k
			if path != "." {
				child = path + "." + k
			}
			gv, ok := g[k]
			if !ok {
				*out = append(*out, child+": missing")
				continue
			}
			dropped(child, v, gv, out)
		}
	case []any:
		g, ok := stored.([]any)
		if !ok || len(g) != len(s) {
			*out = append(*out, fmt.Sprintf("%s: sent %d items, stored %v", path, len(s), stored))
			return
		}
		for i := range s {
			dropped(path+"["+strconv.Itoa(i)+"]", s[i], g[i], out)
		}
	default:
		if !reflect.DeepEqual(sent, stored) {
			*out = append(*out, fmt.Sprintf("%s: sent %v, stored %v", path, sent, stored))
		}
	}
}
