// SPDX-License-Identifier: MIT
#include "actions.h"
void hostile_action(void) {}
