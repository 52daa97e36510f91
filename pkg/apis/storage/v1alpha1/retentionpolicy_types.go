package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

// SuccessfulSnapshotsKeepPolicy says how many successful snapshots to keep in
// each time bucket, in the manner of restic's and KubeStash's keep-* flags.
type SuccessfulSnapshotsKeepPolicy struct {
	// Last keeps the n newest snapshots.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Last *int32 `json:"last,omitempty"`
	// Hourly keeps the newest snapshot of each of the last n hours that have one.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Hourly *int32 `json:"hourly,omitempty"`
	// Daily keeps the newest snapshot of each of the last n days that have one.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Daily *int32 `json:"daily,omitempty"`
	// Weekly keeps the newest snapshot of each of the last n weeks that have one.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Weekly *int32 `json:"weekly,omitempty"`
	// Monthly keeps the newest snapshot of each of the last n months that have one.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Monthly *int32 `json:"monthly,omitempty"`
	// Yearly keeps the newest snapshot of each of the last n years that have one.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Yearly *int32 `json:"yearly,omitempty"`
}

// FailedSnapshotsKeepPolicy says how many failed snapshots to keep for
// troubleshooting.
type FailedSnapshotsKeepPolicy struct {
	// Last keeps the n newest failed snapshots.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	Last *int32 `json:"last,omitempty"`
}

// RetentionPolicySpec says which snapshots survive cleanup.
type RetentionPolicySpec struct {
	// MaxRetentionPeriod removes snapshots older than this, whatever the keep
	// counts say. A sum of number+unit terms: y (365 days), mo (30 days), w, d,
	// h, m; for example "1y6mo" or "30d".
	// +kubebuilder:validation:Pattern=`^([0-9]+(y|mo|w|d|h|m))+$`
	// +optional
	MaxRetentionPeriod string `json:"maxRetentionPeriod,omitempty"`
	// SuccessfulSnapshots is the keep policy for successful snapshots.
	// +optional
	SuccessfulSnapshots *SuccessfulSnapshotsKeepPolicy `json:"successfulSnapshots,omitempty"`
	// FailedSnapshots is the keep policy for failed snapshots.
	// +optional
	FailedSnapshots *FailedSnapshotsKeepPolicy `json:"failedSnapshots,omitempty"`
	// UsagePolicy restricts which namespaces may use this policy.
	// +optional
	UsagePolicy *common.UsagePolicy `json:"usagePolicy,omitempty"`
	// Default marks the policy used when a backend names none.
	// +optional
	Default bool `json:"default,omitempty"`
}

// RetentionPolicy decides which snapshots are kept and which are removed
// after each backup.
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=rp,categories=cairn;backup
// +kubebuilder:printcolumn:name="Max-Retention-Period",type=string,JSONPath=`.spec.maxRetentionPeriod`
// +kubebuilder:printcolumn:name="Default",type=boolean,JSONPath=`.spec.default`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RetentionPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the policy.
	Spec RetentionPolicySpec `json:"spec"`
}

// RetentionPolicyList is a list of RetentionPolicies.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type RetentionPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the RetentionPolicies.
	Items []RetentionPolicy `json:"items"`
}
