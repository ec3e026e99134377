// Package validate checks tongxin's deployment manifests offline.
package validate
