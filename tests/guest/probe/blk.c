// SPDX-License-Identifier: MIT
#include "actions.h"
void blk_action(void) {}
