package finapi

// Conform checks a document against a model of the contract (schema_test.go)
// for the tests of package finapi_test.
var Conform = conform
