package pause

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/internal/fixture"
)

func TestSetPausesAndResumesOnce(t *testing.T) {
	ctx := context.Background()
	c := fake.NewSimpleClientset(fixture.Config("web", "nightly"))
	for _, step := range []struct {
		paused, changed bool
	}{{true, true}, {true, false}, {false, true}, {false, false}} {
		c.ClearActions()
		bc, changed, err := Set(ctx, c, fixture.NS, "web", step.paused)
		if err != nil || changed != step.changed || bc.Spec.Paused != step.paused {
			t.Fatalf("Set(%v): changed %v, %v", step.paused, changed, err)
		}
		got, _ := c.CoreV1alpha1().BackupConfigurations(fixture.NS).Get(ctx, "web", metav1.GetOptions{})
		if got.Spec.Paused != step.paused || len(got.Spec.Sessions) != 1 {
			t.Fatalf("stored spec %+v", got.Spec)
		}
		patches := 0
		for _, a := range c.Actions() {
			if a.GetVerb() == "patch" {
				patches++
			}
		}
		if patches != map[bool]int{true: 1, false: 0}[step.changed] {
			t.Fatalf("Set(%v): %d patches", step.paused, patches)
		}
	}
	if _, _, err := Set(ctx, c, fixture.NS, "nosuch", true); err == nil || !strings.Contains(err.Error(), "ns/nosuch does not exist") {
		t.Fatalf("missing config: %v", err)
	}
}
