package convert

import (
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// backupStorageSpec is KubeStash's BackupStorage spec.
var backupStorageSpec = fields{
	"storage":         via(backend),
	"usagePolicy":     sub(usagePolicyFields),
	"default":         keep,
	"deletionPolicy":  via(deletionPolicy),
	"runtimeSettings": via(runtimeSettingsPodOnly),
}

// usagePolicyFields is KubeStash's usagePolicy, the same shape in Cairn.
var usagePolicyFields = fields{
	"allowedNamespaces": sub(fields{"from": keep, "selector": keep}),
}

// deletionPolicy carries Delete and WipeOut (KubeStash's enum once spelt
// it "WipeOUt").
func deletionPolicy(c *ctx, path string, v *yaml.Node, out *mapping) {
	switch strings.ToLower(scalar(v)) {
	case "delete":
		out.setString("deletionPolicy", "Delete")
	case "wipeout":
		out.setString("deletionPolicy", "WipeOut")
	default:
		c.drop(out, v, path, "Cairn knows Delete and WipeOut only; Delete (keep the data) is used")
	}
}

// Providers Cairn has, and the KubeStash backends it does not.
var (
	cairnProviders    = []string{"s3", "gcs", "azure", "local"}
	refusedProviders  = []string{"swift", "b2", "rest"}
	s3Fields          = fields{"endpoint": via(s3Endpoint), "bucket": keep, "prefix": keep, "region": keep, "secret": as("secretName"), "secretName": keep, "insecureTLS": keep, "maxConnections": keep}
	gcsFields         = fields{"bucket": keep, "prefix": keep, "secret": as("secretName"), "secretName": keep, "maxConnections": keep}
	azureFields       = fields{"storageAccount": keep, "container": keep, "prefix": keep, "secret": as("secretName"), "secretName": keep, "maxConnections": keep, "endpoint": keep}
	backendSpecFields = map[string]fields{"s3": s3Fields, "gcs": gcsFields, "azure": azureFields}
)

// backend maps KubeStash's spec.storage. Older KubeStash objects have no
// provider; it is the one section set.
func backend(c *ctx, path string, v *yaml.Node, out *mapping) {
	provider := scalar(lookup(v, "provider"))
	if provider == "" {
		for _, p := range append(append([]string{}, cairnProviders...), refusedProviders...) {
			if !isNull(lookup(v, p)) {
				provider = p
				break
			}
		}
	}
	for _, p := range refusedProviders {
		if provider == p {
			c.refuse("Cairn has no "+p+" backend (it has s3, gcs, azure and local)",
				"copy the bucket to an S3-compatible store, GCS, Azure Blob or a volume and point the BackupStorage there")
			return
		}
	}
	if provider == "" {
		c.refuse("spec.storage names no backend", "set spec.storage.provider and its section")
		return
	}
	st := out.child("storage")
	st.setString("provider", provider)
	fm := fields{"provider": via(func(c *ctx, path string, v *yaml.Node, _ *mapping) {
		if !contains(cairnProviders, scalar(v)) {
			c.refuse("Cairn has no "+scalar(v)+" backend (it has s3, gcs, azure and local)", "use one of those")
		}
	})}
	for _, p := range append(append([]string{}, cairnProviders...), refusedProviders...) {
		if p != provider {
			fm[p] = dropped("provider is " + provider + ": Cairn takes exactly the section the provider names")
			continue
		}
		if p == "local" {
			fm[p] = via(localBackend)
		} else {
			fm[p] = sub(backendSpecFields[p])
		}
	}
	c.apply(path, v, st, fm)
	if c.refused != nil {
		return
	}
	if st.get(provider) == nil {
		c.refuse("spec.storage."+provider+" is missing", "add it")
		return
	}
	if provider == "azure" && scalar(lookup(st.get("azure"), "storageAccount")) == "" {
		c.refuse("spec.storage.azure.storageAccount is missing and Cairn requires it (older KubeStash read it from the Secret's AZURE_ACCOUNT_NAME)",
			"add spec.storage.azure.storageAccount with the account name")
	}
}

// s3Endpoint makes the endpoint a URL: KubeStash (restic) takes a bare
// host and means https.
func s3Endpoint(c *ctx, path string, v *yaml.Node, out *mapping) {
	ep := scalar(v)
	if ep == "" {
		return
	}
	if !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
		out.setString("endpoint", "https://"+ep)
		c.warn(out, v, path, "a bare host: written as https://"+ep+", the scheme KubeStash implied")
		return
	}
	out.set("endpoint", c.clone(v))
}

// localBackend maps the local backend: the volume source inline, its
// mount path and sub path.
func localBackend(c *ctx, path string, v *yaml.Node, out *mapping) {
	fm := fields{"mountPath": keep, "subPath": keep}
	for k := range volumeSourceKeys {
		fm[k] = keep
	}
	l := out.child("local")
	c.apply(path, v, l, fm)
	if !strings.HasPrefix(scalar(l.get("mountPath")), "/") {
		c.refuse("spec.storage.local.mountPath must be an absolute path in Cairn", "set spec.storage.local.mountPath, for example /safe/data")
	}
}

// backupStorageNotes tell what a BackupStorage over KubeStash's bucket means.
func backupStorageNotes(c *ctx, out *mapping) {
	c.warn(out, nil, "spec.storage", "Cairn writes its own metadata.yaml and repository format, which KubeStash and restic cannot read (nor Cairn theirs): point it at a new bucket or prefix, not at KubeStash's live data")
	if sec, keys := secretOf(out); sec != "" {
		c.warn(out, nil, "spec.storage", "Secret "+sec+" keeps its name: Cairn reads the keys KubeStash reads ("+keys+")")
	}
}

// secretKeys are the credential keys each provider's Secret holds, the
// same in KubeStash and Cairn.
var secretKeys = map[string]string{
	"s3":    "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, CA_CERT_DATA",
	"gcs":   "GOOGLE_PROJECT_ID, GOOGLE_SERVICE_ACCOUNT_JSON_KEY",
	"azure": "AZURE_ACCOUNT_KEY",
}

// secretOf is the credentials Secret a converted BackupStorage names, and
// the keys Cairn reads from it.
func secretOf(out *mapping) (name, keys string) {
	st := lookup(out.get("spec"), "storage")
	for _, p := range []string{"s3", "gcs", "azure"} {
		if s := scalar(lookup(st, p, "secretName")); s != "" {
			return s, secretKeys[p]
		}
	}
	return "", ""
}

// retentionPolicySpec is KubeStash's RetentionPolicy spec, which Cairn
// shares field for field.
var retentionPolicySpec = fields{
	"maxRetentionPeriod": via(maxRetentionPeriod),
	"successfulSnapshots": sub(fields{
		"last": keep, "hourly": keep, "daily": keep, "weekly": keep, "monthly": keep, "yearly": keep,
	}),
	"failedSnapshots": sub(fields{"last": keep}),
	"usagePolicy":     sub(usagePolicyFields),
	"default":         keep,
}

// retentionPeriod is Cairn's maxRetentionPeriod syntax.
var retentionPeriod = regexp.MustCompile(`^([0-9]+(y|mo|w|d|h|m))+$`)

// maxRetentionPeriod is carried when Cairn reads it the same way; a period
// it cannot read would keep snapshots forever, so the object is refused.
func maxRetentionPeriod(c *ctx, path string, v *yaml.Node, out *mapping) {
	p := strings.ReplaceAll(scalar(v), " ", "")
	if !retentionPeriod.MatchString(p) {
		c.refuse("spec.maxRetentionPeriod "+strconvQuote(scalar(v))+" is not a sum of number+unit terms Cairn reads (y, mo, w, d, h, m)",
			"write it as, for example, 30d or 1y6mo")
		return
	}
	out.setString("maxRetentionPeriod", p)
}

// repositorySpec is KubeStash's Repository spec.
var repositorySpec = fields{
	"encryptionSecret": via(encryptionSecret),
	"appRef":           sub(typedRefFields),
	"storageRef":       sub(refFields),
	"path":             keep,
	"deletionPolicy":   via(deletionPolicy),
	"paused":           keep,
}

// repositoryPost gives the Repository the password Secret Cairn requires.
func repositoryPost(c *ctx, in *yaml.Node, spec *mapping) {
	ensurePassword(c, "spec", in, spec, scalar(lookup(c.doc.Node, "metadata", "name")))
}

// refFields is an object reference; KubeStash's typed storage reference
// also names the group and kind, which Cairn's field implies.
var refFields = fields{
	"name":      keep,
	"namespace": keep,
	"apiGroup":  dropped("implied by the field in Cairn"),
	"kind":      dropped("implied by the field in Cairn"),
}

// typedRefFields is a reference to an object of any kind.
var typedRefFields = fields{"apiGroup": keep, "kind": keep, "name": keep, "namespace": keep}

// passwordNote is written beside every repository password Secret.
const passwordNote = "keeps its name: Cairn reads its RESTIC_PASSWORD key as is (CAIRN_PASSWORD is preferred in new Secrets)"

// encryptionSecret carries a repository password Secret reference and
// says that its key needs no change.
func encryptionSecret(c *ctx, path string, v *yaml.Node, out *mapping) {
	m := out.child("encryptionSecret")
	c.apply(path, v, m, refFields)
	if name := scalar(m.get("name")); name != "" {
		lineComment(m.anchor, "Secret "+name+" "+passwordNote)
	}
}

// dataFormatNote says that old KubeStash data stays KubeStash's.
func dataFormatNote(c *ctx, out *mapping) {
	c.warn(out, nil, "spec", "Cairn's repository format is not restic's: the first Cairn backup starts a new history; keep KubeStash's snapshots in their own directory (give Cairn's repositories new directories) to restore them with KubeStash or restic")
}

// restoreNote says which snapshots a converted RestoreSession can restore.
func restoreNote(c *ctx, out *mapping) {
	c.warn(out, nil, "spec.dataSource", "Cairn restores only snapshots Cairn took: a KubeStash snapshot must be restored with KubeStash or restic")
}

// contains reports whether s is in l.
func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// strconvQuote quotes s for a message.
func strconvQuote(s string) string { return `"` + s + `"` }
