package convert

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// backupConfigurationSpec is KubeStash's BackupConfiguration spec.
var backupConfigurationSpec = fields{
	"target":   via(target("target")),
	"backends": via(backends),
	"sessions": via(sessions),
	"paused":   keep,
}

// backupConfigurationPost checks what Cairn requires and KubeStash's
// schema left optional.
func backupConfigurationPost(c *ctx, in *yaml.Node, spec *mapping) {
	if spec.get("target") == nil {
		c.refuse("spec.target is missing: a Cairn BackupConfiguration backs up one workload or PVC", "add spec.target")
	}
	if spec.get("sessions") == nil {
		c.refuse("spec.sessions is missing", "add a session with a scheduler, an addon and repositories")
	}
}

// target carries a backup or restore target of a kind Cairn's Addons
// handle; any other kind (databases, KubeVirt, whole namespaces) is refused.
func target(to string) func(c *ctx, path string, v *yaml.Node, out *mapping) {
	return func(c *ctx, path string, v *yaml.Node, out *mapping) {
		group, kind := scalar(lookup(v, "apiGroup")), scalar(lookup(v, "kind"))
		ok := (group == "apps" && (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet")) ||
			(group == "" && kind == "PersistentVolumeClaim")
		if !ok {
			what := kind
			if group != "" {
				what += " (" + group + ")"
			}
			c.refuse("Cairn backs up Deployments, StatefulSets, DaemonSets and PersistentVolumeClaims, not "+what,
				"back the application up with its own tool into a PVC and back that PVC up with Cairn's pvc-addon")
			return
		}
		c.apply(path, v, out.child(to), typedRefFields)
	}
}

// backendFields is one entry of spec.backends.
var backendFields = fields{
	"name":            keep,
	"storageRef":      sub(refFields),
	"retentionPolicy": sub(refFields),
}

// backends carries spec.backends; a backend without a RetentionPolicy gets
// the default one KubeStash would have used, when the inputs declare it.
func backends(c *ctx, path string, v *yaml.Node, out *mapping) {
	c.list(path, v, out, "backends", func(p string, item *yaml.Node, o *mapping) {
		c.apply(p, item, o, backendFields)
		if o.empty() || o.get("retentionPolicy") != nil {
			return
		}
		rp, ok := c.index.defaultRetention(c.namespace())
		if !ok {
			c.refuse(p+".retentionPolicy is missing: KubeStash used the default RetentionPolicy, which Cairn requires by name for each backend, and the inputs do not say which it is",
				"add retentionPolicy {name, namespace} to the backend, or convert the default RetentionPolicy together with this file")
			return
		}
		m := o.child("retentionPolicy")
		m.setString("name", rp.name)
		if rp.namespace != "" {
			m.setString("namespace", rp.namespace)
		}
		lineComment(m.anchor, "made explicit: KubeStash's default RetentionPolicy")
	})
}

// sessions carries spec.sessions.
func sessions(c *ctx, path string, v *yaml.Node, out *mapping) {
	c.list(path, v, out, "sessions", func(p string, item *yaml.Node, o *mapping) {
		c.apply(p, item, o, sessionFields)
		if c.refused != nil {
			return
		}
		if o.get("scheduler") == nil {
			c.refuse(p+".scheduler is missing: Cairn's sessions run on a schedule", "add scheduler.schedule (trigger runs by hand with `kubectl cairn trigger`)")
		}
		if o.get("addon") == nil {
			c.refuse(p+".addon is missing", "add addon {name: workload-addon or pvc-addon, tasks: [{name: logical-backup}]}")
		}
	})
}

// sessionFields is one entry of spec.sessions.
var sessionFields = fields{
	"name":                   keep,
	"scheduler":              via(scheduler),
	"hooks":                  subAs("hooks", fields{"preBackup": via(hookList("preBackup")), "postBackup": via(hookList("postBackup"))}),
	"retryConfig":            sub(fields{"maxRetry": via(maxRetry), "delay": keep}),
	"timeout":                as("backupTimeout"),
	"backupTimeout":          keep,
	"sessionHistoryLimit":    keep,
	"addon":                  via(addon(backupTasks)),
	"repositories":           via(repositories),
	"failurePolicy":          via(failurePolicy),
	"retentionPolicy":        dropped("Cairn takes the RetentionPolicy from spec.backends[].retentionPolicy: set it there"),
	"verificationStrategies": dropped("Cairn has no backup verification; run `cairn repo check --read-data` against the bucket"),
}

// maxRetry is carried up to Cairn's limit of 10.
func maxRetry(c *ctx, path string, v *yaml.Node, out *mapping) {
	if n, ok := intValue(v); ok && n > 10 {
		c.warn(out, v, path, "Cairn retries a session at most 10 times: 10 is used")
		out.set("maxRetry", intNode("10"))
		return
	}
	out.set("maxRetry", c.clone(v))
}

// failurePolicy: Fail is what Cairn does; Retry is retryConfig in Cairn.
func failurePolicy(c *ctx, path string, v *yaml.Node, out *mapping) {
	if scalar(v) == "Fail" {
		return
	}
	c.drop(out, v, path, "Cairn fails a session when a component fails and retries it by retryConfig: set retryConfig.maxRetry")
}

// repositories carries a session's repositories.
func repositories(c *ctx, path string, v *yaml.Node, out *mapping) {
	c.list(path, v, out, "repositories", func(p string, item *yaml.Node, o *mapping) {
		c.apply(p, item, o, repositoryInfoFields)
		ensurePassword(c, p, item, o, scalar(o.get("name")))
	})
}

// ensurePassword gives a repository without a password Secret (KubeStash
// needs none for volume snapshots) one, which Cairn requires, and says so.
func ensurePassword(c *ctx, path string, in *yaml.Node, o *mapping, repo string) {
	if o.get("encryptionSecret") != nil || c.refused != nil {
		return
	}
	if repo == "" {
		repo = "repository"
	}
	name := repo + "-password"
	m := o.child("encryptionSecret")
	m.setString("name", name)
	c.warn(m, in, join(path, "encryptionSecret"), "missing, and Cairn requires a password Secret for every repository: set to "+name+"; create that Secret with a CAIRN_PASSWORD key")
}

// repositoryInfoFields is one entry of a session's repositories.
var repositoryInfoFields = fields{
	"name":                 keep,
	"backend":              keep,
	"directory":            keep,
	"encryptionSecret":     via(encryptionSecret),
	"deletionPolicy":       via(deletionPolicy),
	"verificationStrategy": dropped("Cairn has no backup verification"),
}

// scheduler carries the trigger CronJob's settings, with KubeStash's
// defaults written out where Cairn's differ.
func scheduler(c *ctx, path string, v *yaml.Node, out *mapping) {
	s := out.child("scheduler")
	c.apply(path, v, s, fields{
		"schedule":                   keep,
		"timeZone":                   keep,
		"startingDeadlineSeconds":    keep,
		"concurrencyPolicy":          keep,
		"suspend":                    keep,
		"jobTemplate":                via(cronJobTemplate),
		"successfulJobsHistoryLimit": keep,
		"failedJobsHistoryLimit":     keep,
	})
	if s.get("concurrencyPolicy") == nil {
		lineComment(s.setString("concurrencyPolicy", "Allow"), "made explicit: KubeStash's default (the CronJob's); Cairn's own is Forbid")
	}
	if s.get("successfulJobsHistoryLimit") == nil {
		lineComment(s.set("successfulJobsHistoryLimit", intNode("3")), "made explicit: KubeStash's default; Cairn's own is 1")
	}
	if s.get("schedule") == nil {
		c.refuse(path+".schedule is missing", "add a cron schedule")
	}
}

// taskMap maps KubeStash's task names (both spellings its docs use) to
// Cairn's, per Addon.
var taskMap = map[string]string{
	"logical-backup":          "logical-backup",
	"LogicalBackup":           "logical-backup",
	"logical-backup-restore":  "logical-backup-restore",
	"LogicalBackupRestore":    "logical-backup-restore",
	"volume-snapshot":         "volume-snapshot",
	"VolumeSnapshot":          "volume-snapshot",
	"volume-snapshot-restore": "volume-snapshot-restore",
	"VolumeSnapshotRestore":   "volume-snapshot-restore",
}

// Which of Cairn's tasks back up and which restore.
var (
	backupTasks  = []string{"logical-backup", "volume-snapshot"}
	restoreTasks = []string{"logical-backup-restore", "volume-snapshot-restore"}
)

// cairnAddonNames are KubeStash's Addons that Cairn has under the same name.
var cairnAddonNames = []string{"workload-addon", "pvc-addon"}

// addon carries addon {name, tasks, containerRuntimeSettings, jobTemplate}
// for backup (allowed = backupTasks) or restore.
func addon(allowed []string) func(c *ctx, path string, v *yaml.Node, out *mapping) {
	return func(c *ctx, path string, v *yaml.Node, out *mapping) {
		a := out.child("addon")
		name := scalar(lookup(v, "name"))
		if !contains(cairnAddonNames, name) {
			c.refuse("Cairn has no Addon "+strconvQuote(name)+" (it has workload-addon and pvc-addon): it backs up the files of volumes, not databases, manifests or virtual machines",
				"dump the application's data into a PVC with its own tool and back that PVC up with pvc-addon; keep manifests in Git")
			return
		}
		// Container settings: containerRuntimeSettings first, whatever the
		// input order, so that it wins over the jobTemplate's, as in KubeStash.
		crs := newMapping()
		if s := lookup(v, "containerRuntimeSettings"); !isNull(s) {
			c.apply(join(path, "containerRuntimeSettings"), s, crs, containerKubeStash)
		}
		c.apply(path, v, a, fields{
			"name":                     keep,
			"tasks":                    via(tasks(name, allowed)),
			"containerRuntimeSettings": via(func(*ctx, string, *yaml.Node, *mapping) {}),
			"jobTemplate":              via(addonJobTemplate(crs)),
		})
		if !crs.empty() {
			a.set("containerRuntimeSettings", crs.node)
		} else {
			for _, p := range crs.pending {
				a.note(p)
			}
		}
		if a.get("tasks") == nil && c.refused == nil {
			c.refuse(path+".tasks is missing", "name the task, for example logical-backup")
		}
	}
}

// tasks carries addon.tasks with their names mapped to Cairn's.
func tasks(addonName string, allowed []string) func(c *ctx, path string, v *yaml.Node, out *mapping) {
	return func(c *ctx, path string, v *yaml.Node, out *mapping) {
		c.list(path, v, out, "tasks", func(p string, item *yaml.Node, o *mapping) {
			c.apply(p, item, o, fields{
				"name": via(func(c *ctx, path string, v *yaml.Node, out *mapping) {
					to, ok := taskMap[scalar(v)]
					if !ok || !contains(allowed, to) {
						c.refuse(addonName+" has no task "+strconvQuote(scalar(v))+" in Cairn", "use one of "+strings.Join(allowed, ", "))
						return
					}
					k := out.setString("name", to)
					if to != scalar(v) {
						lineComment(k, "KubeStash's "+scalar(v))
					}
				}),
				"params":        via(taskParams(addonName)),
				"targetVolumes": sub(fields{"volumes": keep, "volumeMounts": keep, "volumeClaimTemplates": keep}),
				"variables":     dropped("Cairn's tasks take params only; put the values in params"),
				"addonVolumes":  dropped("Cairn's Addons give their tasks the scratch volumes they need"),
			})
		})
	}
}

// taskParams carries task params as strings; a pvc-addon path outside the
// claim's mount point in Cairn's Jobs is flagged.
func taskParams(addonName string) func(c *ctx, path string, v *yaml.Node, out *mapping) {
	return func(c *ctx, path string, v *yaml.Node, out *mapping) {
		stringMap(c, path, v, out)
		if addonName != "pvc-addon" {
			return
		}
		for _, p := range strings.Split(scalar(lookup(v, "paths")), ",") {
			if p = strings.TrimSpace(p); p != "" && p != "/cairn-data" && !strings.HasPrefix(p, "/cairn-data/") {
				c.warn(out, lookup(v, "paths"), join(path, "paths"), "Cairn's pvc-addon mounts the claim at /cairn-data: write paths under /cairn-data")
				return
			}
		}
	}
}

// hookInfoFields is one hook of a session or a RestoreSession.
var hookInfoFields = fields{
	"name":            keep,
	"hookTemplate":    sub(refFields),
	"params":          via(stringMap),
	"maxRetry":        keep,
	"timeout":         keep,
	"executionPolicy": keep,
	"variables":       keep,
	"volumes":         dropped("Cairn's Function hooks mount what their HookTemplate's executor.function names"),
	"volumeMounts":    dropped("Cairn's Function hooks mount what their HookTemplate's executor.function names"),
	"runtimeSettings": dropped("Cairn's hook Jobs take no runtime settings"),
}

// hookList carries one list of hooks.
func hookList(to string) func(c *ctx, path string, v *yaml.Node, out *mapping) {
	return func(c *ctx, path string, v *yaml.Node, out *mapping) {
		c.list(path, v, out, to, func(p string, item *yaml.Node, o *mapping) { c.apply(p, item, o, hookInfoFields) })
	}
}

// restoreSessionSpec is KubeStash's RestoreSession spec.
var restoreSessionSpec = fields{
	"target":          via(target("target")),
	"dataSource":      via(dataSource),
	"addon":           via(addon(restoreTasks)),
	"hooks":           subAs("hooks", fields{"preRestore": via(hookList("preRestore")), "postRestore": via(hookList("postRestore"))}),
	"timeout":         as("restoreTimeout"),
	"restoreTimeout":  keep,
	"manifestOptions": dropped("Cairn restores volumes, not manifests"),
	// runtimeSettings is carried into the addon's settings by
	// restoreSessionPost, once the addon's own are known.
	"runtimeSettings": via(func(*ctx, string, *yaml.Node, *mapping) {}),
}

// restoreSessionPost carries KubeStash's spec.runtimeSettings {pod,
// container}, which shape the restore Job, into Cairn's
// addon.jobTemplate.spec and addon.containerRuntimeSettings; what the
// addon sets itself wins.
func restoreSessionPost(c *ctx, in *yaml.Node, spec *mapping) {
	rs := lookup(in, "runtimeSettings")
	if isNull(rs) || spec.get("addon") == nil {
		return
	}
	a := spec.child("addon")
	jt := a.child("jobTemplate")
	pod, ctr := jt.child("spec"), a.child("containerRuntimeSettings")
	c.apply("spec.runtimeSettings", rs, spec, fields{
		"pod": via(func(c *ctx, path string, v *yaml.Node, _ *mapping) {
			c.apply(path, v, pod, unlessSet(merge(podLevel, podOnlyKubeStash), pod, "addon.jobTemplate.spec"))
		}),
		"container": via(func(c *ctx, path string, v *yaml.Node, _ *mapping) {
			c.apply(path, v, ctr, unlessSet(containerKubeStash, ctr, "addon.containerRuntimeSettings"))
		}),
	})
	tidyJobTemplate(a, jt)
	if ctr.empty() {
		a.remove("containerRuntimeSettings")
	}
}

// unlessSet wraps the copying rules of fm so that a field target already
// holds is kept and the KubeStash one dropped, saying where it is set.
func unlessSet(fm fields, target *mapping, where string) fields {
	out := fields{}
	for k, r := range fm {
		if r.drop != "" {
			out[k] = r
			continue
		}
		out[k] = via(func(c *ctx, path string, v *yaml.Node, o *mapping) {
			to := r.to
			if to == "" {
				to = k
			}
			if target.get(to) != nil {
				c.drop(o, v, path, where+"."+to+" is set too, and wins")
				return
			}
			if r.conv != nil {
				r.conv(c, path, v, o)
				return
			}
			o.set(to, c.clone(v))
		})
	}
	return out
}

// dataSource carries spec.dataSource; Cairn needs a snapshot name (or
// latest) and a password Secret.
func dataSource(c *ctx, path string, v *yaml.Node, out *mapping) {
	ds := out.child("dataSource")
	c.apply(path, v, ds, fields{
		"repository":       keep,
		"snapshot":         keep,
		"encryptionSecret": via(encryptionSecret),
		"components":       keep,
		"namespace":        dropped("Cairn restores from a Repository in the RestoreSession's namespace"),
		"pitr":             dropped("Cairn has no point-in-time selection: name the snapshot (kubectl cairn snapshots lists them)"),
	})
	if c.refused != nil {
		return
	}
	if ds.get("repository") == nil {
		c.refuse(path+".repository is missing: Cairn restores from a named Repository", "add dataSource.repository")
	}
	ensurePassword(c, path, v, ds, scalar(ds.get("repository")))
	if ds.get("snapshot") == nil {
		c.refuse(path+".snapshot is missing (point-in-time recovery is not in Cairn)", "name the snapshot, or latest")
	}
}
