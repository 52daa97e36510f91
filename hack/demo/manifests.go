package main

import (
	"fmt"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/objstore"
)

// The story's objects, written as a user writes them, and applied with
// kubectl so the demo shows the YAML it relies on.

// appManifest is the sample application: a Deployment running as uid
// 1000 that writes its data into the PVC "notes-data" (text, a binary
// file, an empty file, a private file, a symlink) and records the SHA-256
// of every file in /data/.sums, the reference the restores are checked
// against.
func appManifest() string {
	return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: notes-data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 64Mi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: notes
spec:
  selector:
    matchLabels: {app: notes}
  strategy: {type: Recreate}
  template:
    metadata:
      labels: {app: notes}
    spec:
      securityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000}
      containers:
        - name: notes
          image: %s
          imagePullPolicy: Never
          command: [/bin/sh, -c]
          args:
            - |
              set -e
              if [ ! -f /data/.sums ]; then
                mkdir -p /data/notes/2026 /data/attachments
                for i in $(seq 1 40); do echo "note $i: remember to back up" > /data/notes/2026/note-$i.txt; done
                head -c 2000000 /dev/urandom > /data/attachments/photo.bin
                : > /data/notes/empty
                echo "do not share" > /data/notes/private.txt && chmod 0600 /data/notes/private.txt
                ln -s notes/2026/note-1.txt /data/latest-note
                cd /data && find . -type f ! -name .sums | sort | xargs sha256sum > /data/.sums
              fi
              exec sleep 1000000
          volumeMounts:
            - {name: data, mountPath: /data}
      volumes:
        - name: data
          persistentVolumeClaim: {claimName: notes-data}
`, cluster.BusyboxImage)
}

// secretsManifest is the MinIO credentials and the repository password.
func secretsManifest(minio *objstore.Server, password string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: minio-credentials
stringData:
  AWS_ACCESS_KEY_ID: %q
  AWS_SECRET_ACCESS_KEY: %q
---
apiVersion: v1
kind: Secret
metadata:
  name: notes-password
stringData:
  CAIRN_PASSWORD: %q
`, minio.AccessKey, minio.SecretKey, password)
}

// backupManifest is the BackupStorage on MinIO, a RetentionPolicy and
// the BackupConfiguration of the Deployment: what a user writes.
func backupManifest(minio *objstore.Server) string {
	return fmt.Sprintf(`apiVersion: storage.cairn.dev/v1alpha1
kind: BackupStorage
metadata:
  name: minio
spec:
  storage:
    provider: s3
    s3:
      endpoint: %s
      region: %s
      bucket: %s
      prefix: demo
      secretName: minio-credentials
  deletionPolicy: Delete
---
apiVersion: storage.cairn.dev/v1alpha1
kind: RetentionPolicy
metadata:
  name: keep-a-week
spec:
  maxRetentionPeriod: 7d
  successfulSnapshots:
    last: 7
---
apiVersion: core.cairn.dev/v1alpha1
kind: BackupConfiguration
metadata:
  name: notes
spec:
  target:
    apiGroup: apps
    kind: Deployment
    name: notes
  backends:
    - name: minio
      storageRef: {name: minio}
      retentionPolicy: {name: keep-a-week}
  sessions:
    - name: nightly
      scheduler:
        schedule: "0 3 * * *"
      addon:
        name: workload-addon
        tasks:
          - name: logical-backup
            params: {paths: /data}
      repositories:
        - name: notes
          backend: minio
          directory: notes
          encryptionSecret: {name: notes-password}
`, minio.Endpoint, minio.Region, demoBucket)
}
