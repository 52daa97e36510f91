package printer

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": Table, "json": JSON, "YAML": YAML} {
		if f, err := ParseFormat(in); err != nil || f != want {
			t.Errorf("%q: %q, %v", in, f, err)
		}
	}
	var fe *ErrFormat
	if _, err := ParseFormat("wide"); !errors.As(err, &fe) || !strings.Contains(err.Error(), "-o json or -o yaml") {
		t.Fatal(err)
	}
}

func TestWriteGivesTypedObjectsTheirKind(t *testing.T) {
	bs := &corev1alpha1.BackupSession{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns"}}
	var b strings.Builder
	if err := Write(&b, YAML, bs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "apiVersion: core.cairn.dev/v1alpha1") || !strings.Contains(b.String(), "kind: BackupSession") {
		t.Fatalf("yaml:\n%s", b.String())
	}
	if bs.Kind != "" {
		t.Fatal("Write changed the caller's object")
	}
	b.Reset()
	if err := Write(&b, JSON, []map[string]int{{"a": 1}}); err != nil || !strings.Contains(b.String(), `"a": 1`) {
		t.Fatalf("json %q, %v", b.String(), err)
	}
	if err := Write(&b, Table, 1); err == nil {
		t.Fatal("Write of a table should fail")
	}
}

func TestColumnsAndAge(t *testing.T) {
	var b strings.Builder
	if err := Columns(&b, []string{"NAME", "SIZE"}, [][]string{{"a-long-name", ""}, {"b", "1 MiB"}}); err != nil {
		t.Fatal(err)
	}
	want := "NAME         SIZE\na-long-name  <none>\nb            1 MiB\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		t    time.Time
		want string
	}{{time.Time{}, ""}, {now.Add(-90 * time.Second), "90s ago"}, {now.Add(-50 * time.Hour), "2d2h ago"}, {now.Add(3 * time.Hour), "in 3h"}} {
		if got := Age(c.t, now); got != c.want {
			t.Errorf("Age(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestBar(t *testing.T) {
	var b strings.Builder
	bar := &Bar{W: &b}
	bar.Update("restore", 0, 1000, 0, 4)
	bar.Update("restore", 4, 1000, 0, 4) // still 0%: not written again
	bar.Update("restore", 500, 1000, 2, 4)
	bar.Update("restore", 1000, 1000, 4, 4)
	bar.Done()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "[###############...............]  50%") || !strings.Contains(lines[2], "100%  1000 B of 1000 B  4/4 files") {
		t.Fatalf("lines %q", lines)
	}
	b.Reset()
	bar = &Bar{W: &b, Terminal: true}
	bar.Update("Pending 0/1", 0, 0, 0, 0)
	bar.Update("Running 0/1", 2048, 0, 0, 0)
	bar.Done()
	if b.String() != "\rPending 0/1\rRunning 0/1  2.0 KiB\n" {
		t.Fatalf("terminal %q", b.String())
	}
}
