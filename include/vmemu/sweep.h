/* vmemu sweep: runs one program at several memory sizes and replacement policies, in
 * parallel, and prints a table (and optionally a CSV file) of faults and run time per
 * cell. Called by main.c for `vmemu sweep ...`. */
#ifndef VMEMU_SWEEP_H
#define VMEMU_SWEEP_H

/* Runs the sweep subcommand. argv[0] is "sweep"; self is the path of the vmemu executable
 * to run for each cell. Returns the process exit status: 0 when every cell ran (whatever
 * the guest's own status), 1 when a cell could not be run or the CSV or HTML file not written, 2
 * for a usage error (one line on stderr). */
int sweep_main(int argc, char **argv, const char *self);

#endif
