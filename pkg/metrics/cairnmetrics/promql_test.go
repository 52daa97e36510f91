package cairnmetrics

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

// promqlWords are identifiers of PromQL that never name a metric:
// aggregations (which may take `by (...)` before their parenthesis), binary
// and set operators, modifiers and special numbers.
var promqlWords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true, "count": true,
	"count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true, "limit_ratio": true,
	"and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true, "inf": true, "nan": true,
}

// labelListWords are followed by a parenthesised list of label names.
var labelListWords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// metricNames lists, sorted and without repeats, the metric names a PromQL
// expression (with Grafana's $variables) selects: identifiers outside label
// matchers, ranges and strings that are not functions, aggregations,
// operators or label lists.
func metricNames(expr string) []string {
	var names []string
	r := []rune(expr)
	next := func(i int) int { // the index of the next non-space rune at or after i
		for i < len(r) && unicode.IsSpace(r[i]) {
			i++
		}
		return i
	}
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case c == '#':
			for i < len(r) && r[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			i = skipString(r, i)
		case c == '{':
			i = skipTo(r, i, '}')
		case c == '[':
			i = skipTo(r, i, ']')
		case c == '$':
			i++
			if i < len(r) && r[i] == '{' {
				i = skipTo(r, i, '}')
			}
			for i < len(r) && isIdent(r[i]) {
				i++
			}
		case unicode.IsDigit(c) || (c == '.' && i+1 < len(r) && unicode.IsDigit(r[i+1])):
			for i < len(r) && (isIdent(r[i]) || r[i] == '.') {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < len(r) && isIdent(r[i]) {
				i++
			}
			word := string(r[start:i])
			lower, after := strings.ToLower(word), next(i) // keywords are case-insensitive
			switch {
			case labelListWords[lower] && after < len(r) && r[after] == '(':
				i = skipTo(r, after, ')')
			case promqlWords[lower] || labelListWords[lower]:
			case after < len(r) && r[after] == '(':
				// a function call; its arguments are read on
			default:
				names = append(names, word)
			}
		default:
			i++
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func isIdentStart(c rune) bool { return c == '_' || c == ':' || unicode.IsLetter(c) }
func isIdent(c rune) bool      { return isIdentStart(c) || unicode.IsDigit(c) }

// skipString returns the index after the string literal starting at i.
func skipString(r []rune, i int) int {
	quote := r[i]
	for i++; i < len(r); i++ {
		if r[i] == '\\' && quote != '`' {
			i++
		} else if r[i] == quote {
			return i + 1
		}
	}
	return i
}

// skipTo returns the index after the rune end that closes the bracket at i,
// skipping string literals (a label value may hold any bracket).
func skipTo(r []rune, i int, end rune) int {
	for i++; i < len(r); {
		switch r[i] {
		case '"', '\'', '`':
			i = skipString(r, i)
		case end:
			return i + 1
		default:
			i++
		}
	}
	return i
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`up`: {"up"},
		`rate(http_requests_total{job="a", path=~"/x{1,2}"}[5m]) > 0`:                     {"http_requests_total"},
		`sum by (namespace, config) (increase(a_total{x="$ns"}[$__interval]))`:            {"a_total"},
		`max without(instance)(b) / on (namespace) group_left (config) c * 2e3 offset 5m`: {"b", "c"},
		`histogram_quantile(0.95, sum by (le) (rate(d_bucket[1h]))) unless e and f or g`:  {"d_bucket", "e", "f", "g"},
		`count(x == 1) or vector(0)`:                   {"x"},
		`label_replace(y, "dst", "$1", "src", "(.*)")`: {"y"},
		"time() - z # a comment with words\n + Inf":    {"z"},
		`topk(3, sum(w) by (pod)) @ end()`:             {"w"},
		`{__name__="anything"}`:                        nil,
		`${datasource} and $var`:                       nil,
		`sum(rate(v[5m:1m])) * ON(a) GROUP_RIGHT() u`:  {"u", "v"},
		`quantile(0.9, y)`:                             {"y"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}
