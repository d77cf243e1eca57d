package promapi

import "testing"

// The fast reading takes the shapes servers and the snapshot writer write:
// compact, spaced and indented, keys in either order, an empty series.
// (That it gives what the library gives is TestDecodeSeriesMatchesWhole.)
func TestFastMatrixTakesTheCommonShapes(t *testing.T) {
	for _, raw := range []string{
		`[]`,
		`[{"metric":{"__name__":"up","job":"a"},"values":[[1714572000,"1"],[1714572015.5,"NaN"]]}]`,
		`[ {"values": [ [1, "1"] , [2,"2"] ], "metric": { "a" : "b" } } , {"metric":{}} ]`,
		"[\n  {\n    \"metric\": {\"a\": \"b\"},\n    \"values\": [\n      [1, \"1\"],\n      [2, \"2\"]\n    ]\n  }\n]\n",
	} {
		if _, ok := fastMatrix([]byte(raw)); !ok {
			t.Errorf("fastMatrix(%s) left it to the library", raw)
		}
	}
}
