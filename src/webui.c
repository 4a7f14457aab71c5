/*
 * webui: finds the embedded staff page files (webui.h). The table itself is generated at
 * build time from web/ by cmake/embed_web.cmake into webui_assets.c in the build folder.
 */
#include "hotline/webui.h"

#include <string.h>

/* Generated: every file of web/, in name order. */
extern const struct webui_asset webui_assets[];
extern const size_t webui_asset_count;

const struct webui_asset *webui_find(const char *name)
{
    if (!name)
        return NULL;
    if (*name == '\0')
        name = "index.html";
    for (size_t i = 0; i < webui_asset_count; i++)
        if (strcmp(webui_assets[i].name, name) == 0)
            return &webui_assets[i];
    return NULL;
}
