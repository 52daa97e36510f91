package names

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestShorten(t *testing.T) {
	long := strings.Repeat("a", 70)
	cases := []struct {
		name, in string
		max      int
		want     string
	}{
		{"fits", "backup-daily", 63, "backup-daily"},
		{"exactly max", strings.Repeat("x", 63), 63, strings.Repeat("x", 63)},
		{"too long keeps prefix and hash", long, 63, strings.Repeat("a", 54) + "-" + hashOf(long)},
		{"no dash before hash", strings.Repeat("a", 53) + "--" + strings.Repeat("b", 20), 63,
			strings.Repeat("a", 53) + "-" + hashOf(strings.Repeat("a", 53)+"--"+strings.Repeat("b", 20))},
		{"tiny max is raised to fit the hash", "abcdefghijklmnop", 4, "a-" + hashOf("abcdefghijklmnop")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Shorten(tc.in, tc.max)
			if got != tc.want {
				t.Fatalf("Shorten(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
			if tc.max >= 10 && len(got) > tc.max {
				t.Fatalf("shortened name has %d characters, more than %d", len(got), tc.max)
			}
		})
	}
}

func TestShortenDistinguishesInputsWithTheSamePrefix(t *testing.T) {
	a := Shorten(strings.Repeat("p", 80)+"-one", 63)
	b := Shorten(strings.Repeat("p", 80)+"-two", 63)
	if a == b {
		t.Fatalf("two different long names shortened to the same %q", a)
	}
}

func TestGeneratedNamesAreValidObjectNames(t *testing.T) {
	longName := strings.Repeat("very-long-backup-configuration-name", 3)
	names := map[string]string{
		"cronjob":        TriggerCronJob(longName, "daily-at-midnight"),
		"backup job":     BackupJob(longName+"-1700000000", "s3-repo", "pod-0"),
		"restore job":    RestoreJob(longName, "data"),
		"serviceaccount": ServiceAccount("backup-runner"),
	}
	for what, n := range names {
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
			t.Errorf("%s name %q is not a DNS label: %v", what, n, errs)
		}
	}
	if got := TriggerCronJob(longName, "daily"); len(got) > CronJobMaxLength {
		t.Errorf("CronJob name %q is %d characters, more than %d", got, len(got), CronJobMaxLength)
	}
	if got := VolumeSnapshot("data-mysql-0", 1700000000); got != "data-mysql-0-1700000000" {
		t.Errorf("VolumeSnapshot = %q", got)
	}
	if got := Snapshot("gcs-repo", "daily", 1700000000); got != "gcs-repo-daily-1700000000" {
		t.Errorf("Snapshot = %q", got)
	}
}

func TestJoinSkipsEmptyParts(t *testing.T) {
	if got := Join(63, "backup", "", "x", ""); got != "backup-x" {
		t.Fatalf("Join = %q", got)
	}
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

func TestBackupSessionIsLengthSafeAndUnique(t *testing.T) {
	if got := BackupSession("app", "daily", 1700000000, 1); got != "app-daily-1700000000" {
		t.Fatalf("BackupSession = %q", got)
	}
	if got := BackupSession("app", "daily", 1700000000, 2); got != "app-daily-1700000000-2" {
		t.Fatalf("second attempt = %q", got)
	}
	long := strings.Repeat("c", 63)
	seen := map[string]bool{}
	for attempt := 1; attempt <= 9; attempt++ {
		n := BackupSession(long, long, 1700000000, attempt)
		if len(n) > MaxLabelLength || seen[n] {
			t.Fatalf("attempt %d: %q (len %d, seen %v)", attempt, n, len(n), seen[n])
		}
		seen[n] = true
	}
}
