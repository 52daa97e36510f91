package convert

import (
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
)

// podLevel are the pod settings Cairn's PodRuntimeSettings has, under the
// same names as KubeStash's runtimeSettings.pod and jobTemplate.template.spec.
var podLevel = fields{
	"nodeSelector":       keep,
	"serviceAccountName": keep,
	"tolerations":        keep,
	"affinity":           keep,
	"priorityClassName":  keep,
	"securityContext":    keep,
	"imagePullSecrets":   keep,
}

// podOnlyKubeStash are KubeStash pod settings Cairn does not carry, and why.
var podOnlyKubeStash = fields{
	"podLabels":                    dropped("Cairn labels the pods of its Jobs itself"),
	"podAnnotations":               dropped("Cairn does not annotate the pods of its Jobs"),
	"serviceAccountAnnotations":    dropped("Cairn creates the runner's ServiceAccount itself"),
	"automountServiceAccountToken": dropped("Cairn's runner needs its token to report to the API server"),
	"nodeName":                     dropped("pin the pod with nodeSelector or affinity instead"),
	"schedulerName":                dropped("Cairn's Jobs use the default scheduler"),
	"priority":                     dropped("set priorityClassName instead"),
	"readinessGates":               dropped("Jobs' pods need no readiness gates"),
	"runtimeClassName":             dropped("Cairn's Jobs run with the default runtime class"),
	"enableServiceLinks":           dropped("Cairn's runner reads no service links"),
	"topologySpreadConstraints":    dropped("a Job of one pod has nothing to spread; use affinity"),
	"podPlacementPolicy":           dropped("KubeStash-specific placement policies have no Cairn counterpart; use affinity"),
}

// containerKubeStash are KubeStash container settings (runtimeSettings.container,
// addon.containerRuntimeSettings) and their Cairn counterparts.
var containerKubeStash = fields{
	"resources":       keep,
	"securityContext": keep,
	"env":             keep,
	"envFrom":         keep,
	"nice":            via(nice),
	"ionice":          dropped("Cairn has no I/O priority setting; nice is carried"),
	"livenessProbe":   dropped("a backup container has no probes"),
	"readinessProbe":  dropped("a backup container has no probes"),
	"lifecycle":       dropped("a backup container has no lifecycle hooks; use a HookTemplate"),
}

// nice maps KubeStash's nice.adjustment to Cairn's nice (-20..19).
func nice(c *ctx, path string, v *yaml.Node, out *mapping) {
	adj := lookup(v, "adjustment")
	n, ok := intValue(adj)
	if !ok {
		c.drop(out, v, path, "nice.adjustment is not an integer")
		return
	}
	if n < -20 || n > 19 {
		c.warn(out, adj, join(path, "adjustment"), "out of -20..19: clamped")
		n = max(-20, min(19, n))
	}
	out.set("nice", intNode(strconv.FormatInt(n, 10)))
}

// merge returns a field map holding every rule of the maps given.
func merge(maps ...fields) fields {
	out := fields{}
	for _, m := range maps {
		for k, r := range m {
			out[k] = r
		}
	}
	return out
}

// runtimeSettingsPodOnly maps KubeStash's runtimeSettings {pod, container}
// to Cairn's PodRuntimeSettings, for objects whose Jobs Cairn gives pod
// settings only (BackupStorage).
func runtimeSettingsPodOnly(c *ctx, path string, v *yaml.Node, out *mapping) {
	c.apply(path, v, out.child("runtimeSettings"), fields{
		"pod": via(func(c *ctx, path string, v *yaml.Node, out *mapping) {
			c.apply(path, v, out, merge(podLevel, podOnlyKubeStash))
		}),
		"container": dropped("Cairn's storage Jobs take pod settings only"),
	})
	if m := out.child("runtimeSettings"); m.empty() {
		out.remove("runtimeSettings")
	}
}

// podSpecFields is the field map of KubeStash's jobTemplate.template.spec
// (offshoot's PodSpec): pod settings go to out, container settings to
// container (nil: dropped with containerWhy).
func podSpecFields(container *mapping, containerWhy string) fields {
	toContainer := func(to string) rule {
		if container == nil {
			return dropped(containerWhy)
		}
		return via(func(c *ctx, path string, v *yaml.Node, out *mapping) {
			if container.get(to) != nil {
				c.drop(out, v, path, "addon.containerRuntimeSettings."+to+" is set too, and wins")
				return
			}
			container.set(to, c.clone(v))
		})
	}
	return merge(podLevel, podOnlyKubeStash, fields{
		"resources":                     toContainer("resources"),
		"env":                           toContainer("env"),
		"envFrom":                       toContainer("envFrom"),
		"containerSecurityContext":      toContainer("securityContext"),
		"args":                          dropped("Cairn's Function sets the runner's arguments"),
		"livenessProbe":                 dropped("a backup container has no probes"),
		"readinessProbe":                dropped("a backup container has no probes"),
		"lifecycle":                     dropped("a backup container has no lifecycle hooks; use a HookTemplate"),
		"volumeMounts":                  dropped("mount volumes through the task's targetVolumes"),
		"volumes":                       dropped("mount volumes through the task's targetVolumes"),
		"initContainers":                dropped("Cairn's Jobs run no init containers"),
		"terminationGracePeriodSeconds": dropped("Cairn sets the runner's grace period"),
		"dnsPolicy":                     dropped("Cairn's Jobs use the cluster's DNS policy"),
		"dnsConfig":                     dropped("Cairn's Jobs use the cluster's DNS settings"),
		"hostNetwork":                   dropped("Cairn's Jobs never use the host's namespaces"),
		"hostPID":                       dropped("Cairn's Jobs never use the host's namespaces"),
		"hostIPC":                       dropped("Cairn's Jobs never use the host's namespaces"),
		"shareProcessNamespace":         dropped("Cairn's Jobs run one container"),
	})
}

// podTemplateFields is KubeStash's offshoot PodTemplateSpec {metadata,
// controller, spec}: pod settings go to jt.spec, container settings to
// container (nil: dropped, saying containerWhy).
func podTemplateFields(jt, container *mapping, containerWhy string) fields {
	return fields{
		"metadata":   dropped("Cairn labels the pods of its Jobs itself"),
		"controller": dropped("Cairn labels its Jobs itself"),
		"spec": via(func(c *ctx, path string, v *yaml.Node, _ *mapping) {
			c.apply(path, v, jt.child("spec"), podSpecFields(container, containerWhy))
		}),
	}
}

// tidyJobTemplate removes an empty Cairn jobTemplate (or its empty spec).
func tidyJobTemplate(out, jt *mapping) {
	if s := jt.child("spec"); s.empty() {
		jt.remove("spec")
	}
	if jt.empty() {
		out.remove("jobTemplate")
	}
}

// cronJobTemplate maps the scheduler's jobTemplate (KubeStash: a Job spec
// with offshoot's pod template) to Cairn's JobTemplate {backoffLimit,
// spec}. The trigger Job runs Cairn's own container, so container settings
// are dropped.
func cronJobTemplate(c *ctx, path string, v *yaml.Node, out *mapping) {
	const containerWhy = "the trigger Job runs Cairn's own small container"
	jt := out.child("jobTemplate")
	c.apply(path, v, jt, fields{
		"backoffLimit": keep,
		"template": via(func(c *ctx, path string, v *yaml.Node, _ *mapping) {
			c.apply(path, v, jt, podTemplateFields(jt, nil, containerWhy))
		}),
		"parallelism":             dropped("Cairn runs one pod per Job"),
		"completions":             dropped("Cairn runs one pod per Job"),
		"completionMode":          dropped("Cairn runs one pod per Job"),
		"activeDeadlineSeconds":   dropped("the trigger Job only creates a BackupSession; limit a backup with the session's timeout"),
		"ttlSecondsAfterFinished": dropped("Cairn keeps the trigger CronJob's Jobs by successfulJobsHistoryLimit and failedJobsHistoryLimit"),
		"suspend":                 dropped("pause the BackupConfiguration, or suspend the scheduler, instead"),
	})
	tidyJobTemplate(out, jt)
}

// addonJobTemplate maps addon.jobTemplate (KubeStash: offshoot's pod
// template) to Cairn's JobTemplate spec; container settings go to
// container (the addon's containerRuntimeSettings).
func addonJobTemplate(container *mapping) func(c *ctx, path string, v *yaml.Node, out *mapping) {
	return func(c *ctx, path string, v *yaml.Node, out *mapping) {
		jt := out.child("jobTemplate")
		c.apply(path, v, jt, podTemplateFields(jt, container, ""))
		tidyJobTemplate(out, jt)
	}
}

// volumeSourceKeys are the JSON names of corev1.VolumeSource's fields,
// which KubeStash's local backend and Cairn's share inline.
var volumeSourceKeys = func() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeOf(corev1.VolumeSource{})
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys[name] = true
		}
	}
	return keys
}()
