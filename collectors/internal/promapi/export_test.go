package promapi

import "github.com/prometheus/common/model"

// DecodeMatrixOf is the library's reading alone, for the tests that hold
// the fast one to it.
func DecodeMatrixOf(what string, body []byte, hint string) (model.Matrix, []string, error) {
	raw, warnings, err := DecodeEnvelope(what, body, model.ValMatrix.String(), hint)
	if err != nil {
		return nil, nil, err
	}
	m, err := matrixOf(body, raw)
	if err != nil {
		return nil, nil, err
	}
	return m, warnings, nil
}
