/*
 * console.c — the serial console on the host terminal.
 *
 * A reader thread takes host stdin (raw mode when it is a terminal) into a
 * small ring; the boot vCPU's poll hook moves bytes into the UART's receive
 * FIFO as it has room (console_poll).  Escape keys follow QEMU:
 * Ctrl-A x quits, Ctrl-A h lists the keys, Ctrl-A Ctrl-A sends Ctrl-A.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "machine/machine.h"

#define RING 4096

static struct {
    uint8_t buf[RING];
    _Atomic unsigned head, tail; /* head: written by reader; tail: by vCPU 0 */
    pthread_t thread;
    int started, tty;
    struct termios saved;
    _Atomic int quit;
} con;

static void ring_put(uint8_t c)
{
    unsigned h = atomic_load(&con.head);
    while (h - atomic_load(&con.tail) >= RING) {
        if (atomic_load(&con.quit))
            return;
        usleep(1000); /* guest is not reading: back-pressure the reader */
    }
    con.buf[h % RING] = c;
    atomic_store(&con.head, h + 1);
}

static void *reader(void *arg)
{
    struct machine *m = arg;
    bool esc = false;
    while (!atomic_load(&con.quit)) {
        struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
        int r = poll(&p, 1, 100);
        if (r <= 0)
            continue;
        uint8_t c;
        ssize_t n = read(STDIN_FILENO, &c, 1);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            break; /* EOF: the guest just sees no more input */
        }
        if (esc) {
            esc = false;
            if (c == 'x') {
                machine_stop(m, EXIT_POWEROFF, "quit from the console (Ctrl-A x)");
                break;
            } else if (c == 'h' || c == '?') {
                static const char help[] =
                    "\r\nC-a h    print this help\r\nC-a x    exit nestvm\r\n"
                    "C-a C-a  send C-a\r\n";
                if (write(STDERR_FILENO, help, sizeof help - 1) < 0)
                    break;
            } else if (c == 1) {
                ring_put(1);
            }
            continue;
        }
        if (c == 1) {
            esc = true;
            continue;
        }
        ring_put(c);
    }
    return NULL;
}

int console_start(struct machine *m)
{
    con.tty = isatty(STDIN_FILENO);
    if (con.tty && tcgetattr(STDIN_FILENO, &con.saved) == 0) {
        struct termios raw = con.saved;
        cfmakeraw(&raw);
        raw.c_oflag |= OPOST | ONLCR; /* keep our own stderr lines readable */
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    } else {
        con.tty = 0;
    }
    atomic_store(&con.quit, 0);
    con.started = pthread_create(&con.thread, NULL, reader, m) == 0;
    return 0;
}

void console_poll(struct machine *m)
{
    unsigned t = atomic_load(&con.tail), h = atomic_load(&con.head);
    if (t == h)
        return;
    pthread_mutex_lock(&m->bus.lock);
    while (t != h && uart_can_receive(&m->uart)) {
        uint8_t c = con.buf[t % RING];
        if (uart_receive(&m->uart, &c, 1) != 1)
            break;
        t++;
    }
    pthread_mutex_unlock(&m->bus.lock);
    atomic_store(&con.tail, t);
}

void console_stop(struct machine *m)
{
    atomic_store(&con.quit, 1);
    if (con.started)
        pthread_join(con.thread, NULL);
    con.started = 0;
    if (con.tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &con.saved);
}
