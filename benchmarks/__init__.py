"""tunekit's benchmarks: ``python -m benchmarks [--quick]`` runs every module's ``main(argv)``."""
