package hooks

import (
	"fmt"
	"maps"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/subst"
)

// check refuses what no run can fix: a required param without a value,
// a variable taken from elsewhere (valueFrom, which hooks do not read).
func (h *Hook) check() error {
	for _, p := range h.Template.Spec.Params {
		if _, ok := h.Params[p.Name]; p.Required && !ok && p.Default == "" {
			return configErrorf("param %s is required by HookTemplate %s/%s; set it in the hook's params", p.Name, h.Template.Namespace, h.Template.Name)
		}
	}
	for _, e := range h.Variables {
		if e.ValueFrom != nil {
			return configErrorf("variable %s uses valueFrom, which hooks do not support; give it a value", e.Name)
		}
	}
	return nil
}

// values are what ${NAME} in h's action may name: the caller's Vars, the
// session's variables, then the template's params with the session's
// values or their defaults. A param's value may itself use the Vars and
// variables (a postBackup hook's message may say "${SESSION_PHASE}"). A
// required param without a value is refused earlier, by check.
func (h *Hook) values() (map[string]string, error) {
	base := maps.Clone(h.Vars)
	if base == nil {
		base = map[string]string{}
	}
	for _, e := range h.Variables {
		if e.ValueFrom == nil {
			base[e.Name] = e.Value
		}
	}
	v := maps.Clone(base)
	set := func(name, val string) error {
		r, err := subst.Expand(val, base)
		if err != nil {
			return configErrorf("param %s: %v", name, err)
		}
		v[name] = r
		return nil
	}
	for _, p := range h.Template.Spec.Params {
		val, ok := h.Params[p.Name]
		if !ok {
			val = p.Default
		}
		if err := set(p.Name, val); err != nil {
			return nil, err
		}
	}
	for k, val := range h.Params {
		if _, ok := v[k]; !ok {
			if err := set(k, val); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// Substitute returns a copy of a whose strings (command, host, path,
// headers, body, form) have their ${NAME} placeholders replaced from vars
// (pkg/subst: ${NAME:=default}, and $$ for a literal $). A placeholder
// without a value is a *ConfigError naming it.
func Substitute(a corev1alpha1.HookAction, vars map[string]string) (corev1alpha1.HookAction, error) {
	out := *a.DeepCopy()
	var first error
	expand := func(where string, s *string) {
		if first != nil {
			return
		}
		r, err := subst.Expand(*s, vars)
		if err != nil {
			first = configErrorf("%s: %v", where, err)
			return
		}
		*s = r
	}
	if out.Exec != nil {
		for i := range out.Exec.Command {
			expand(fmt.Sprintf("exec.command[%d]", i), &out.Exec.Command[i])
		}
	}
	if g := out.HTTPGet; g != nil {
		expand("httpGet.host", &g.Host)
		expand("httpGet.path", &g.Path)
		for i := range g.HTTPHeaders {
			expand("httpGet.httpHeaders["+g.HTTPHeaders[i].Name+"]", &g.HTTPHeaders[i].Value)
		}
	}
	if p := out.HTTPPost; p != nil {
		expand("httpPost.host", &p.Host)
		expand("httpPost.path", &p.Path)
		expand("httpPost.body", &p.Body)
		for i := range p.HTTPHeaders {
			expand("httpPost.httpHeaders["+p.HTTPHeaders[i].Name+"]", &p.HTTPHeaders[i].Value)
		}
		for i := range p.Form {
			for j := range p.Form[i].Values {
				expand("httpPost.form["+p.Form[i].Key+"]", &p.Form[i].Values[j])
			}
		}
	}
	return out, first
}
