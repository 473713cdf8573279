#include "vmx_lib.h"
const struct vmx_test exit_tests[1], event_tests[1], ept_tests[1], mode_tests[1], entry_tests[1];
const size_t n_exit_tests = 0, n_event_tests = 0, n_ept_tests = 0, n_mode_tests = 0, n_entry_tests = 0;
volatile uint32_t pm32_cr0, pm32_data;
