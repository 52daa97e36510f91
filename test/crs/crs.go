// Package crs loads Cairn's CRD manifests and the sample custom resources in
// test/testdata/crs, so that the offline checks in pkg/apis and the
// server-side dry-run checks in test/integration read the same files.
package crs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// ExpectErrorAnnotation on an invalid sample holds a substring of the error
// the API server must return for it.
const ExpectErrorAnnotation = "test.cairn.dev/expect-error"

// Root is the repository's top directory, found from this file's location so
// tests work from any package directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CRDs reads every CRD in deploy/crds.
func CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	files, err := filepath.Glob(filepath.Join(Root(), "deploy", "crds", "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no CRDs in deploy/crds: run make generate")
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, crd)
	}
	return out, nil
}

// Samples reads the objects of test/testdata/crs/<name>.yaml, one per YAML
// document, as raw JSON and as unstructured objects.
func Samples(name string) ([]Sample, error) {
	path := filepath.Join(Root(), "test", "testdata", "crs", name+".yaml")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var out []Sample
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("%s document %d: %w", path, len(out)+1, err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("%s document %d: %w", path, len(out)+1, err)
		}
		out = append(out, Sample{JSON: js, Object: obj})
	}
}

// Sample is one sample custom resource.
type Sample struct {
	// JSON is the document as JSON.
	JSON []byte
	// Object is the document decoded without a schema.
	Object *unstructured.Unstructured
}

// Name is "<Kind>/<name>", for test names and messages.
func (s Sample) Name() string { return s.Object.GetKind() + "/" + s.Object.GetName() }

// ExpectedError is the error substring an invalid sample declares.
func (s Sample) ExpectedError() string { return s.Object.GetAnnotations()[ExpectErrorAnnotation] }

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '#' {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}
