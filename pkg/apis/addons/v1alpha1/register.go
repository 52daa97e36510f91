package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

// GroupName is the API group of these types.
const GroupName = "addons.cairn.dev"

// SchemeGroupVersion is the group and version these types are served under.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

// Resource turns an unqualified resource name into a group-qualified one, as
// the generated listers need for their NotFound errors.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

var (
	// SchemeBuilder collects the functions that add these types to a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(common.AddKnownTypes(SchemeGroupVersion, knownTypes...))
	// AddToScheme adds these types to a scheme; clientsets and tests call it.
	AddToScheme = SchemeBuilder.AddToScheme
)
