package usage

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

type namespaces map[string]map[string]string

func (n namespaces) Get(name string) (*corev1.Namespace, error) {
	l, ok := n[name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, name)
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}, nil
}

func policy(from common.FromNamespaces, sel map[string]string) *common.UsagePolicy {
	p := &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: &from}}
	if sel != nil {
		p.AllowedNamespaces.Selector = &metav1.LabelSelector{MatchLabels: sel}
	}
	return p
}

func TestCheck(t *testing.T) {
	ns := namespaces{"team-a": {"backup": "yes"}, "team-b": {}}
	cases := []struct {
		name   string
		p      *common.UsagePolicy
		from   string
		denied string // substring of the DeniedError; empty: allowed
	}{
		{"own namespace always", nil, "storage", ""},
		{"default is Same", nil, "team-a", "from is Same"},
		{"All", policy(common.NamespacesFromAll, nil), "team-b", ""},
		{"Selector match", policy(common.NamespacesFromSelector, map[string]string{"backup": "yes"}), "team-a", ""},
		{"Selector miss", policy(common.NamespacesFromSelector, map[string]string{"backup": "yes"}), "team-b", "do not match"},
		{"Selector without selector", policy(common.NamespacesFromSelector, nil), "team-a", "no selector"},
	}
	for _, c := range cases {
		err := Check(c.p, "BackupStorage", "storage", "s3", c.from, ns)
		var d *DeniedError
		switch {
		case c.denied == "" && err != nil:
			t.Errorf("%s: denied: %v", c.name, err)
		case c.denied != "" && (!errors.As(err, &d) || !strings.Contains(err.Error(), c.denied)):
			t.Errorf("%s: Check = %v, want a DeniedError mentioning %q", c.name, err, c.denied)
		}
	}
	if err := Check(policy(common.NamespacesFromSelector, map[string]string{"a": "b"}), "BackupStorage", "storage", "s3", "gone", ns); err == nil || errors.As(err, new(*DeniedError)) {
		t.Fatalf("a missing namespace must be a lookup error, not a denial: %v", err)
	}
}
