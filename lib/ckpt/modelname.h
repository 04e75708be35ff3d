/* modelname.h - the name a figure title gives a model directory. */
#ifndef MHV_MODELNAME_H
#define MHV_MODELNAME_H

#include <stddef.h>

/* Writes a short, readable name of the model in dir to buf (always NUL-terminated):
 *   1. config.json's "_name_or_path" when it is a Hub id ("bert-base-chinese",
 *      "nreimers/MiniLM-L6-H384-uncased") or a path with a telling base name;
 *   2. "org/name" for a snapshot in the Hugging Face cache (.../models--org--name/snapshots/<rev>);
 *   3. the directory's base name, with its parent's in front when the base name alone says
 *      nothing ("samples/model", "bert-zh/checkpoint").
 * Reads config.json only; a missing or unreadable one is not an error. */
void mhv_modelname_of(const char *dir, char *buf, size_t size);
/* Steps 2 and 3 only: the name of the directory itself, config.json unread. What figure
 * titles show by default, so that a fine-tuned model is not titled with its parent's
 * "_name_or_path" (all-MiniLM-L6-v2 is not "nreimers/MiniLM-L6-H384-uncased"). */
void mhv_modelname_of_dir(const char *dir, char *buf, size_t size);

#endif
