"""Developer tooling around the app: the local stack (`make run`) and what tests and benchmarks
share with it. Never imported by the app."""
