"""The Awesome-list README.md, generated from the catalog (`vpeft readme`)."""
