module promptrelease.io/examples/go

go 1.22

require promptrelease.io/sdk/go v0.0.0

require github.com/cbroglie/mustache v1.4.2 // indirect

replace promptrelease.io/sdk/go => ../../sdk/go
