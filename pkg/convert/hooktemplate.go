package convert

import (
	"go.yaml.in/yaml/v3"
)

// hookTemplateSpec carries KubeStash's HookTemplate spec. KubeStash names
// the container of a Pod hook in action.containerName; Cairn in
// executor.pod.container.
func hookTemplateSpec(c *ctx, path string, v *yaml.Node, out *mapping) {
	spec := out.child("spec")
	container := ""
	c.apply(path, v, spec, fields{
		"usagePolicy": sub(usagePolicyFields),
		"params":      keep,
		"action": via(func(c *ctx, path string, v *yaml.Node, out *mapping) {
			a := out.child("action")
			c.apply(path, v, a, fields{
				"exec":    keep,
				"httpGet": keep,
				"httpPost": sub(fields{
					"path": keep, "port": keep, "host": keep, "scheme": keep, "httpHeaders": keep, "body": keep, "form": keep,
				}),
				"tcpSocket": dropped("Cairn's hooks run a command or call a URL; a TCP check is not one of them"),
				"containerName": via(func(c *ctx, path string, v *yaml.Node, _ *mapping) {
					container = scalar(v)
				}),
			})
			if a.empty() {
				c.refuse(path+" has no action Cairn can run (exec, httpGet or httpPost)", "rewrite the hook as a command (exec) or an HTTP call")
			}
		}),
		"executor": via(func(c *ctx, path string, v *yaml.Node, out *mapping) {
			e := out.child("executor")
			c.apply(path, v, e, fields{
				"type":     keep,
				"function": sub(fields{"name": keep, "env": keep, "volumeMounts": keep, "volumes": keep}),
				"pod": sub(fields{
					"selector": keep,
					"strategy": keep,
					"owner":    dropped("Cairn selects the pods by label selector only"),
				}),
			})
		}),
	})
	if c.refused != nil {
		return
	}
	if container != "" {
		pod := lookup(spec.get("executor"), "pod")
		if pod == nil {
			c.warn(spec, lookup(lookup(v, "action"), "containerName"), join(path, "action.containerName"), "dropped: Cairn names the container of Pod hooks only")
		} else {
			k := (&mapping{node: pod}).setString("container", container)
			lineComment(k, "KubeStash's action.containerName")
		}
	}
	if spec.get("action") == nil || spec.get("executor") == nil {
		c.refuse(path+" needs an action and an executor", "add them")
	}
}
