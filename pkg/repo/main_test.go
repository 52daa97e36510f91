package repo

import (
	"os"
	"testing"

	"github.com/cairnbackup/cairn/pkg/bufpool/pooltest"
)

// TestMain fails the package if any test left a pooled buffer out.
func TestMain(m *testing.M) { os.Exit(pooltest.Run(m)) }
