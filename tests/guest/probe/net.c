// SPDX-License-Identifier: MIT
#include "actions.h"
void net_action(void) {}
