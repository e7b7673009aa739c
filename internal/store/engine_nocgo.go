//go:build !cgo

package store

// The SQLite driver, github.com/mattn/go-sqlite3, is C compiled through cgo: Ibiki builds only
// with cgo on (CGO_ENABLED=1, Go's default when a C compiler is found) and a C compiler (gcc).
// Without cgo the build stops here, with this name in the error, rather than on the driver's
// missing symbols.
var _ = ibiki_needs_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler_such_as_gcc
