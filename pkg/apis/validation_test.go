package apis_test

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/cairnbackup/cairn/test/crs"
)

// kindValidator runs, offline, the checks the API server runs on a custom
// resource: defaulting, OpenAPI schema validation, list-type (map/set)
// uniqueness and the CEL rules. The same samples are also dry-run against a
// real API server in test/integration; this copy gives the answer in a
// second, without a cluster.
type kindValidator struct {
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

func validators(t *testing.T) map[string]*kindValidator {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensions.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	defs, err := crs.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*kindValidator{}
	for _, crd := range defs {
		internal := &apiextensions.CustomResourceDefinition{}
		if err := scheme.Convert(crd, internal, nil); err != nil {
			t.Fatal(err)
		}
		// The internal form hoists a schema shared by all versions to spec.validation.
		validation := internal.Spec.Validation
		if validation == nil {
			validation = internal.Spec.Versions[0].Schema
		}
		props := validation.OpenAPIV3Schema
		structural, err := structuralschema.NewStructural(props)
		if err != nil {
			t.Fatalf("%s: %v", crd.Name, err)
		}
		sv, _, err := apiservervalidation.NewSchemaValidator(props)
		if err != nil {
			t.Fatalf("%s: %v", crd.Name, err)
		}
		out[crd.Spec.Names.Kind] = &kindValidator{
			structural: structural,
			schema:     sv,
			cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
		}
	}
	return out
}

func (v *kindValidator) validate(obj map[string]interface{}) field.ErrorList {
	structuraldefaulting.Default(obj, v.structural)
	errs := apiservervalidation.ValidateCustomResource(nil, obj, v.schema)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, v.structural, obj)...)
	celErrs, _ := v.cel.Validate(context.Background(), nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

func TestSamplesAgainstCRDSchemas(t *testing.T) {
	vals := validators(t)
	valid, err := crs.Samples("valid")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range valid {
		v, ok := vals[s.Object.GetKind()]
		if !ok {
			t.Fatalf("no CRD for %s", s.Name())
		}
		if errs := v.validate(s.Object.DeepCopy().Object); len(errs) > 0 {
			t.Errorf("valid sample %s rejected: %v", s.Name(), errs.ToAggregate())
		}
	}
	invalid, err := crs.Samples("invalid")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range invalid {
		want := s.ExpectedError()
		errs := vals[s.Object.GetKind()].validate(s.Object.DeepCopy().Object)
		if len(errs) == 0 {
			t.Errorf("invalid sample %s accepted; want an error containing %q", s.Name(), want)
			continue
		}
		if got := errs.ToAggregate().Error(); !strings.Contains(got, want) {
			t.Errorf("invalid sample %s:\n  got  %s\n  want an error containing %q", s.Name(), got, want)
		}
	}
}
