"""tests/deploy/test_images.py builds and runs container images (root, buildah, podman, debootstrap, a minute or
two): a step of its own in .ci/run, which names the file (a named file is collected even so)."""

collect_ignore = ["test_images.py"]
