// Package catalog maps metrics and log patterns to layers, directions, units
// and services: the signal catalog described in DESIGN.md.
package catalog

// Layer is where a signal sits in a cause chain, from the user-facing top down.
type Layer string

// Layers, top to bottom.
const (
	LayerSymptom     Layer = "symptom"
	LayerPropagation Layer = "propagation"
	LayerResource    Layer = "resource"
	LayerChange      Layer = "change"
)

// Depth orders layers: symptom 0 .. change 3; an unknown layer sorts as resource.
func (l Layer) Depth() int {
	switch l {
	case LayerSymptom:
		return 0
	case LayerPropagation:
		return 1
	case LayerChange:
		return 3
	}
	return 2
}

// Direction says which way a signal moves when things are bad.
type Direction string

// Directions.
const (
	Up   Direction = "up"
	Down Direction = "down"
	Both Direction = "both"
)

// Catalog is the signal catalog. Stub: being written.
type Catalog struct{}
