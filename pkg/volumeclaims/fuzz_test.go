package volumeclaims

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// FuzzRender feeds Render the strings a user writes in a RestoreSession's
// template (its name, a label value, the data source's name): it must
// never panic, and either give claims with valid names or a TemplateError.
func FuzzRender(f *testing.F) {
	f.Add("data-${POD_ORDINAL}", "r-${POD_ORDINAL}", "snap-${POD_ORDINAL}", int32(3))
	f.Add("${POD_ORDINAL:=x}", "$${POD_ORDINAL}", "${", int32(0))
	f.Fuzz(func(t *testing.T, name, label, source string, ordinal int32) {
		tpl := corev1.PersistentVolumeClaimTemplate{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"l": label}},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				DataSourceRef: &corev1.TypedObjectReference{Kind: "VolumeSnapshot", Name: source}}}
		for _, ord := range []*int32{nil, &ordinal} {
			claims, err := Render("ns", []corev1.PersistentVolumeClaimTemplate{tpl}, ord)
			var te *TemplateError
			if err != nil {
				if !errors.As(err, &te) {
					t.Fatalf("error %v is not a TemplateError", err)
				}
				continue
			}
			if len(claims) != 1 || len(validation.IsDNS1123Subdomain(claims[0].Name)) > 0 {
				t.Fatalf("rendered %+v from %q", claims, name)
			}
		}
	})
}
