/* placeholder: being written */
#include "vmemu/mm.h"
