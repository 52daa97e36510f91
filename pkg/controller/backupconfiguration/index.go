package backupconfiguration

import (
	"fmt"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

func config(obj any) (*corev1alpha1.BackupConfiguration, error) {
	bc, ok := obj.(*corev1alpha1.BackupConfiguration)
	if !ok {
		return nil, fmt.Errorf("indexing: expected a BackupConfiguration, got %T", obj)
	}
	return bc, nil
}

// refKey is "<ns>/<name>", with the config's namespace when ref has none.
func refKey(ns, refNamespace, name string) string {
	if refNamespace != "" {
		ns = refNamespace
	}
	return ns + "/" + name
}

func indexStorages(obj any) ([]string, error) {
	return indexBackends(obj, func(b corev1alpha1.BackendReference) (string, string) {
		return b.StorageRef.Namespace, b.StorageRef.Name
	})
}

func indexPolicies(obj any) ([]string, error) {
	return indexBackends(obj, func(b corev1alpha1.BackendReference) (string, string) {
		return b.RetentionPolicy.Namespace, b.RetentionPolicy.Name
	})
}

// indexBackends keys a config by the object ref picks from each backend,
// or by defaultKey when it uses the defaults.
func indexBackends(obj any, ref func(corev1alpha1.BackendReference) (ns, name string)) ([]string, error) {
	bc, err := config(obj)
	if err != nil {
		return nil, err
	}
	if len(bc.Spec.Backends) == 0 {
		return []string{defaultKey}, nil
	}
	keys := make([]string, 0, len(bc.Spec.Backends))
	for _, b := range bc.Spec.Backends {
		ns, name := ref(b)
		keys = append(keys, refKey(bc.Namespace, ns, name))
	}
	return keys, nil
}

func indexTarget(obj any) ([]string, error) {
	bc, err := config(obj)
	if err != nil {
		return nil, err
	}
	t := bc.Spec.Target
	return []string{t.Kind + "/" + refKey(bc.Namespace, t.Namespace, t.Name)}, nil
}

func indexAddon(obj any) ([]string, error) {
	bc, err := config(obj)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, s := range bc.Spec.Sessions {
		keys = append(keys, s.Addon.Name)
	}
	return keys, nil
}

func indexRepositories(obj any) ([]string, error) {
	bc, err := config(obj)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, s := range bc.Spec.Sessions {
		for _, r := range s.Repositories {
			keys = append(keys, bc.Namespace+"/"+r.Name)
		}
	}
	return keys, nil
}

// indexHookTemplates keys a config by the "<ns>/<name>" of each
// HookTemplate its sessions' backup hooks use.
func indexHookTemplates(obj any) ([]string, error) {
	bc, err := config(obj)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, s := range bc.Spec.Sessions {
		if s.Hooks == nil {
			continue
		}
		for _, h := range append(append([]corev1alpha1.HookInfo{}, s.Hooks.PreBackup...), s.Hooks.PostBackup...) {
			keys = append(keys, refKey(bc.Namespace, h.HookTemplate.Namespace, h.HookTemplate.Name))
		}
	}
	return keys, nil
}
