module promptrelease.io/sdk/go

go 1.22

require github.com/cbroglie/mustache v1.4.2
