package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

// HTTPPostAction is an HTTP POST request made by a hook.
type HTTPPostAction struct {
	// Path to request.
	// +optional
	Path string `json:"path,omitempty"`
	// Port to connect to, by number or name.
	Port intstr.IntOrString `json:"port"`
	// Host to connect to; defaults to the pod IP.
	// +optional
	Host string `json:"host,omitempty"`
	// Scheme is HTTP or HTTPS.
	// +kubebuilder:default=HTTP
	// +optional
	Scheme corev1.URIScheme `json:"scheme,omitempty"`
	// HTTPHeaders to send.
	// +optional
	HTTPHeaders []corev1.HTTPHeader `json:"httpHeaders,omitempty"`
	// Body of the request.
	// +optional
	Body string `json:"body,omitempty"`
	// Form values sent as application/x-www-form-urlencoded.
	// +optional
	Form []FormEntry `json:"form,omitempty"`
}

// FormEntry is one form value of an HTTP POST hook.
type FormEntry struct {
	// Key of the form field.
	Key string `json:"key"`
	// Values of the form field.
	Values []string `json:"values"`
}

// HookAction is what a hook does: run a command, or call a URL.
// +kubebuilder:validation:XValidation:rule="[has(self.exec), has(self.httpGet), has(self.httpPost)].filter(x, x).size() == 1",message="set exactly one of action.exec, action.httpGet, action.httpPost"
type HookAction struct {
	// Exec runs a command.
	// +optional
	Exec *corev1.ExecAction `json:"exec,omitempty"`
	// HTTPGet calls a URL with GET.
	// +optional
	HTTPGet *corev1.HTTPGetAction `json:"httpGet,omitempty"`
	// HTTPPost calls a URL with POST.
	// +optional
	HTTPPost *HTTPPostAction `json:"httpPost,omitempty"`
}

// HookExecutorType says where a hook runs.
// +kubebuilder:validation:Enum=Function;Pod;Operator
type HookExecutorType string

const (
	// ExecutorFunction runs the hook in a Job from a Function's image.
	ExecutorFunction HookExecutorType = "Function"
	// ExecutorPod runs the hook inside the target's pods (kubectl exec style).
	ExecutorPod HookExecutorType = "Pod"
	// ExecutorOperator runs an HTTP hook from the operator itself.
	ExecutorOperator HookExecutorType = "Operator"
)

// PodHookStrategy says in how many matching pods a Pod hook runs.
// +kubebuilder:validation:Enum=ExecuteOnOne;ExecuteOnAll
type PodHookStrategy string

const (
	// ExecuteOnOne runs the hook in one matching pod.
	ExecuteOnOne PodHookStrategy = "ExecuteOnOne"
	// ExecuteOnAll runs the hook in every matching pod.
	ExecuteOnAll PodHookStrategy = "ExecuteOnAll"
)

// FunctionHookExecutor runs a hook from a Function.
type FunctionHookExecutor struct {
	// Name of the Function.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Env of the hook container.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
	// VolumeMounts of the hook container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
	// Volumes of the hook pod.
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`
}

// PodHookExecutor runs a hook in the target's pods.
type PodHookExecutor struct {
	// Selector picks the pods, as a label selector string.
	// +kubebuilder:validation:MinLength=1
	Selector string `json:"selector"`
	// Container to exec in; empty means the first container.
	// +optional
	Container string `json:"container,omitempty"`
	// Strategy says in how many pods the hook runs.
	// +kubebuilder:default=ExecuteOnOne
	// +optional
	Strategy PodHookStrategy `json:"strategy,omitempty"`
}

// HookExecutor says where a hook runs.
// +kubebuilder:validation:XValidation:rule="self.type != 'Function' || has(self.function)",message="executor.function is required when type is Function"
// +kubebuilder:validation:XValidation:rule="self.type != 'Pod' || has(self.pod)",message="executor.pod is required when type is Pod"
type HookExecutor struct {
	// Type of executor.
	Type HookExecutorType `json:"type"`
	// Function settings for the Function type.
	// +optional
	Function *FunctionHookExecutor `json:"function,omitempty"`
	// Pod settings for the Pod type.
	// +optional
	Pod *PodHookExecutor `json:"pod,omitempty"`
}

// HookTemplateSpec is a reusable hook.
type HookTemplateSpec struct {
	// UsagePolicy restricts which namespaces may use this template.
	// +optional
	UsagePolicy *common.UsagePolicy `json:"usagePolicy,omitempty"`
	// Params the template accepts; ${NAME} in the action is replaced by them.
	// +optional
	// +listType=map
	// +listMapKey=name
	Params []common.ParameterDefinition `json:"params,omitempty"`
	// Action the hook performs.
	Action HookAction `json:"action"`
	// Executor says where the action runs.
	Executor HookExecutor `json:"executor"`
}

// HookTemplate is a reusable pre/post backup or restore action.
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ht,categories=cairn;backup
// +kubebuilder:printcolumn:name="Executor",type=string,JSONPath=`.spec.executor.type`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type HookTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the hook.
	Spec HookTemplateSpec `json:"spec"`
}

// HookTemplateList is a list of HookTemplates.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type HookTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the HookTemplates.
	Items []HookTemplate `json:"items"`
}
