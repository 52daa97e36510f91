package apis_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/cairnbackup/cairn/client/clientset/versioned/scheme"
	"github.com/cairnbackup/cairn/test/crs"
)

// TestSamplesDecodeStrictly keeps the sample objects (and so the docs that
// copy them) in step with the Go types: an unknown or misspelled field fails.
func TestSamplesDecodeStrictly(t *testing.T) {
	codecs := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)
	decoder := codecs.UniversalDeserializer()
	for _, file := range []string{"valid", "invalid"} {
		samples, err := crs.Samples(file)
		if err != nil {
			t.Fatal(err)
		}
		if len(samples) == 0 {
			t.Fatalf("no samples in %s.yaml", file)
		}
		for _, s := range samples {
			obj, gvk, err := decoder.Decode(s.JSON, nil, nil)
			if file == "valid" && err != nil {
				t.Errorf("%s sample %s does not decode strictly: %v", file, s.Name(), err)
				continue
			}
			if err == nil {
				if _, ok := obj.(runtime.Object); !ok || gvk.Kind != s.Object.GetKind() {
					t.Errorf("%s decoded as %v", s.Name(), gvk)
				}
			}
		}
	}
}
