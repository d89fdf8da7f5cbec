/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "service/config.h"

void tp_config_init(tp_config *cfg) {
        memset(cfg, 0, sizeof(*cfg));
        cfg->db_url = "sqlite:./touchpoint.db";
        cfg->listen = "127.0.0.1:8080";
        cfg->lim.max_body = 16u * 1024 * 1024;
        cfg->lim.max_items = 10000;
        cfg->lim.max_depth = 32;
        cfg->lim.max_id = 128;
        cfg->lim.max_comment = 8192;
        cfg->lim.max_properties = 16384;
        cfg->lim.future_skew = 86400;
        cfg->threads = 2;
        cfg->conn_limit = 1000;
        cfg->per_ip_limit = 200;
        cfg->conn_timeout = 15;
        cfg->queue_jobs = 4096;
        cfg->queue_bytes = 256u * 1024 * 1024;
        cfg->txn_max_items = 50000;
        cfg->max_reports = 4;
        cfg->session_ttl = 12 * 3600;
}
