/* placeholder: being written */
#include "vmemu/procfs.h"
