/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

static const struct {
        const char *code;
        unsigned http;
        const char *msg;
} rc_table[] = {
#define XX(name, code, http, msg) { code, http, msg },
        TP_RC_MAP(XX)
#undef XX
};

const char *tp_rc_code(tp_rc rc) {
        return (unsigned) rc < _TP_RC_MAX ? rc_table[rc].code : "internal";
}

unsigned tp_rc_http_status(tp_rc rc) {
        return (unsigned) rc < _TP_RC_MAX ? rc_table[rc].http : 500;
}

const char *tp_rc_message(tp_rc rc) {
        return (unsigned) rc < _TP_RC_MAX ? rc_table[rc].msg : "internal error";
}

static void set_msg(tp_err *err, tp_rc rc, const char *fmt, va_list ap) {
        err->rc = rc;
        if (fmt)
                (void) vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        else
                err->msg[0] = '\0';
}

tp_rc tp_err_set(tp_err *err, tp_rc rc, const char *fmt, ...) {
        va_list ap;

        if (!err)
                return rc;
        va_start(ap, fmt);
        set_msg(err, rc, fmt, ap);
        va_end(ap);
        return rc;
}

tp_rc tp_err_setf(tp_err *err, tp_rc rc, const char *field, const char *fmt, ...) {
        va_list ap;

        if (!err)
                return rc;
        (void) snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
        va_start(ap, fmt);
        set_msg(err, rc, fmt, ap);
        va_end(ap);
        return rc;
}

tp_rc tp_err_setc(tp_err *err, tp_rc rc, const char *code, const char *field, const char *fmt, ...) {
        va_list ap;

        if (!err)
                return rc;
        err->code = code;
        (void) snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
        va_start(ap, fmt);
        set_msg(err, rc, fmt, ap);
        va_end(ap);
        return rc;
}

const char *tp_err_code(const tp_err *err) {
        return err->code ? err->code : tp_rc_code(err->rc);
}

void tp_err_clear(tp_err *err) {
        if (err)
                memset(err, 0, sizeof(*err));
}
