// The Simulation module; see ../shared/DESIGN.md. Its code arrives with its issue.
