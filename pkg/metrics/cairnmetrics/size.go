package cairnmetrics

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// parseSize reads a size as the operator and the runner write them in
// status fields: "123 B", "1.5 MiB" (pkg/progress.FormatBytes), or a
// Kubernetes quantity ("1536Mi", "2G", "123"). It is false for "" and
// anything else.
func parseSize(s string) (int64, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if s == "" {
		return 0, false
	}
	// FormatBytes' units are quantities' suffixes plus a "B": "MiB" is "Mi".
	if t, ok := strings.CutSuffix(s, "B"); ok {
		s = t
	}
	q, err := resource.ParseQuantity(s)
	if err != nil || q.Sign() < 0 {
		return 0, false
	}
	return q.Value(), true // rounded up to whole bytes ("1.1Ki" is 1127)
}
