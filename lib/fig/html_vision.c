/* html_vision.c - the interactive page of a vision run (see html_vision.h). */
#include "fig/html_vision.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "fig/canvas.h"
#include "fig/html.h"
#include "fig/png_out.h"

/* A JSON string that may sit inside <script>: no "</script>" nor "<!--" can occur. */
static void js_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '"' || c == '\\')
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static const char STYLE[] =
    "body{font:14px/1.4 'DejaVu Sans',sans-serif;color:#222;margin:16px}\n"
    "h1{font-size:18px;margin:0 0 2px}.src{color:#666;margin:0 0 10px}\n"
    ".controls{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin-bottom:10px}\n"
    ".controls button{font:inherit;padding:1px 6px}.controls button.on{background:#3b6ea8;"
    "color:#fff}\n.main{display:flex;gap:10px;align-items:stretch}\n"
    "#view{cursor:crosshair;image-rendering:pixelated}\n"
    ".bar{display:flex;flex-direction:column;justify-content:space-between;font-size:11px;"
    "color:#444}\n#bar{width:14px;flex:1}\n#status{min-height:1.4em;margin:6px 0;color:#444}\n"
    "#thumbs{display:flex;flex-wrap:wrap;gap:10px;margin-top:10px}\n"
    "#thumbs div{cursor:pointer;font-size:12px}#thumbs div.on{outline:2px solid #3b6ea8}\n"
    "#thumbs canvas{display:block;width:160px;height:160px;image-rendering:pixelated}\n"
    ".note{color:#666;font-size:12px;max-width:760px}\n";

/* The application: draws from the global MHV (images, cmap, fixed, aggregate). */
static const char SCRIPT[] =
    "(function(){'use strict';\n"
    "var D=MHV,root=document.querySelector('.mhv-vision'),t0=performance.now();\n"
    "var st={img:0,layer:0,head:0,query:D.images.length?D.images[0].query:0};\n"
    "var pics=D.images.map(function(im){var p=new Image();p.src=im.picture;return p;});\n"
    "var cache={};\n"
    "function bytes(s){var b=atob(s),a=new Uint8Array(b.length);"
    "for(var i=0;i<b.length;i++)a[i]=b.charCodeAt(i);return a;}\n"
    "function map(ii,k){var key=ii+':'+k;if(!cache[key])cache[key]=bytes(D.images[ii].maps[k].w);"
    "return cache[key];}\n"
    "function row(ii,k,q){var n=D.images[ii].tokens.length,m=map(ii,k),r=new Float64Array(n);"
    "if(D.images[ii].maps[k].p)q=0;"
    "for(var j=0;j<n;j++){var v=m[q*n+j]/255;r[j]=v*v;}return r;}\n"
    "function layers(ii){var s=[];D.images[ii].maps.forEach(function(m){if(s.indexOf(m.l)<0)"
    "s.push(m.l);});return s;}\n"
    "function mapsOf(ii,l){var s=[];D.images[ii].maps.forEach(function(m,k){if(m.l===l)"
    "s.push(k);});return s;}\n"
    "function find(ii,l,h){var ks=mapsOf(ii,l);for(var i=0;i<ks.length;i++)"
    "if(D.images[ii].maps[ks[i]].h===h)return ks[i];return ks[0];}\n"
    "function colour(t){var i=t>0?Math.min(255,Math.floor(t*256)):0;"
    "return 'rgb('+D.cmap[3*i]+','+D.cmap[3*i+1]+','+D.cmap[3*i+2]+')';}\n"
    "function headName(m){return m.h<0?D.aggregate:'head '+m.h;}\n"
    /* SigLIP's pooling head: its maps are single rows, the probe's, under a layer "pool" */
    "function isPool(ii,l){return D.images[ii].maps.some(function(m){return m.l===l&&m.p;});}\n"
    /* the picture tinted by the query's row: one colour per patch, alpha 0.6, as the PNGs */
    /* rows x cols patches of `patch` pixels from the top left, the picture magnified z times */
    "function draw(cv,ii,k,q,z){var im=D.images[ii],R=im.rows,C=im.cols,E=im.extra,"
    "r=row(ii,k,q),top=0;\n"
    "for(var t=0;t<R*C;t++)top=Math.max(top,r[E+t]);var vmax=D.fixed?1:(top>0?top:1);\n"
    "var P=im.patch*z;cv.width=im.w*z;cv.height=im.h*z;var c=cv.getContext('2d');"
    "c.imageSmoothingEnabled=false;\n"
    "c.drawImage(pics[ii],0,0,cv.width,cv.height);c.globalAlpha=0.6;\n"
    "for(t=0;t<R*C;t++){c.fillStyle=colour(Math.min(1,r[E+t]/vmax));"
    "c.fillRect((t%C)*P,Math.floor(t/C)*P,P,P);}\n"
    "c.globalAlpha=1;if(q>=E&&!im.maps[k].p){var p=q-E,cx=(p%C)*P,cy=Math.floor(p/C)*P;"
    "c.lineWidth=2;c.strokeStyle='#000';c.strokeRect(cx+1,cy+1,P-2,P-2);c.strokeStyle='#fff';"
    "c.strokeRect(cx+3,cy+3,P-6,P-6);}\nreturn{top:top,vmax:vmax,row:r};}\n"
    /* whole pixels magnified until the longer side is at least target */
    "function zoom(ii,target){var im=D.images[ii],S=Math.max(im.w,im.h);"
    "return S>=target?1:Math.ceil(target/S);}\n"
    "function el(id){return document.getElementById(id);}\n"
    "function fill(sel,items,cur){sel.innerHTML='';items.forEach(function(it){"
    "var o=document.createElement('option');o.value=it[0];o.textContent=it[1];"
    "if(String(it[0])===String(cur))o.selected=true;sel.appendChild(o);});}\n"
    "var last=null;\n"
    "function render(){var ii=st.img,im=D.images[ii];\n"
    "var ls=layers(ii);if(ls.indexOf(st.layer)<0)st.layer=ls[0];\n"
    "var k=find(ii,st.layer,st.head);st.head=im.maps[k].h;\n"
    "fill(el('img'),D.images.map(function(m,i){return[i,m.path];}),ii);\n"
    "fill(el('layer'),ls.map(function(l){return[l,isPool(ii,l)?'pool':String(l)];}),st.layer);\n"
    "fill(el('head'),mapsOf(ii,st.layer).map(function(kk){var m=im.maps[kk];"
    "return[m.h,headName(m)];}),st.head);\n"
    "var ex=el('extras');ex.innerHTML='';for(var i=0;i<im.extra;i++)(function(i){"
    "var b=document.createElement('button');b.textContent=im.tokens[i];"
    "if(st.query===i)b.className='on';b.onclick=function(){st.query=i;render();};"
    "ex.appendChild(b);})(i);\n"
    "var z=zoom(ii,448),s=im.h*z;last=draw(el('view'),ii,k,st.query,z);\n"
    "var bar=el('bar');bar.width=14;bar.height=s;var bc=bar.getContext('2d');"
    "for(var y=0;y<s;y++){bc.fillStyle=colour(1-(y+0.5)/s);bc.fillRect(0,y,14,1);}\n"
    "el('bartop').textContent=D.fixed?'1':last.vmax.toPrecision(3);\n"
    "var off=[];for(i=0;i<im.extra;i++)off.push(im.tokens[i]+' '+last.row[i].toFixed(3));\n"
    "var pool=im.maps[k].p;el('status').textContent=(pool?'query: the pooling probe \\u2014 '+"
    "headName(im.maps[k])+' of the attention-pooling head':'query '+im.tokens[st.query]+"
    "' \\u2014 '+headName(im.maps[k])+', layer '+st.layer+(off.length?'; weight on '+"
    "off.join(', '):''))+'. Click a patch to make it the query'+(pool?' of the layers.':'.');\n"
    "var th=el('thumbs');th.innerHTML='';mapsOf(ii,st.layer).forEach(function(kk){"
    "var m=im.maps[kk],d=document.createElement('div'),cv=document.createElement('canvas');"
    "var r=draw(cv,ii,kk,st.query,zoom(ii,112));d.textContent=headName(m)+' (max '+"
    "r.top.toPrecision(3)+')';d.appendChild(cv);if(m.h===st.head)d.className='on';"
    "d.onclick=function(){st.head=m.h;render();};th.appendChild(d);});\n"
    "root.setAttribute('data-state',[ii,st.layer,st.head,st.query].join(' '));}\n"
    "function patchAt(e){var cv=el('view'),b=cv.getBoundingClientRect(),im=D.images[st.img];"
    "var x=Math.floor((e.clientX-b.left)/b.width*im.w/im.patch),"
    "y=Math.floor((e.clientY-b.top)/b.height*im.h/im.patch);"
    "if(x<0||y<0||x>=im.cols||y>=im.rows)return -1;return im.extra+y*im.cols+x;}\n"
    "el('view').addEventListener('click',function(e){var q=patchAt(e);if(q>=0){st.query=q;"
    "render();}});\n"
    "el('view').addEventListener('mousemove',function(e){var q=patchAt(e),im=D.images[st.img];"
    "if(q<0||!last)return;el('hover').textContent=im.tokens[q]+': '+last.row[q].toFixed(4);});\n"
    "el('img').onchange=function(){st.img=+this.value;st.query=D.images[st.img].query;render();};\n"
    "el('layer').onchange=function(){st.layer=+this.value;render();};\n"
    "el('head').onchange=function(){st.head=+this.value;render();};\n"
    "function start(){if(!D.images.length)return;render();"
    "root.setAttribute('data-ready-ms',String(Math.round(performance.now()-t0)));"
    "root.setAttribute('data-ready','1');}\n"
    "var waiting=pics.length;if(!waiting)start();pics.forEach(function(p){"
    "if(p.complete){if(--waiting===0)start();}else p.onload=function(){if(--waiting===0)start();};});\n"
    "})();\n";

mhv_status mhv_html_vision_begin(FILE *f, const char *name, const mhv_html_vision_info *info,
                                 mhv_error *err)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"generator\" content=\"mhaviz " MHV_VERSION "\">\n<title>", f);
    for (const char *s = info->model; *s; s++) /* HTML text */
        *s == '<' ? fputs("&lt;", f) : *s == '&' ? fputs("&amp;", f) : fputc(*s, f);
    fprintf(f, " \xE2\x80\x94 attention over the image</title>\n<style>\n%s</style>\n</head>\n"
            "<body>\n<div class=\"mhv-vision\" data-ready=\"0\">\n<h1 id=\"title\"></h1>\n"
            "<p class=\"src\" id=\"src\"></p>\n<div class=\"controls\">"
            "<label>image <select id=\"img\"></select></label>"
            "<label>layer <select id=\"layer\"></select></label>"
            "<label>head <select id=\"head\"></select></label>"
            "<span id=\"extras\"></span><span id=\"hover\"></span></div>\n"
            "<div class=\"main\"><canvas id=\"view\"></canvas><div class=\"bar\">"
            "<span id=\"bartop\"></span><canvas id=\"bar\"></canvas><span>0</span></div></div>\n"
            "<p id=\"status\"></p>\n<div id=\"thumbs\"></div>\n<p class=\"note\">Each patch is "
            "tinted by the query's attention to it (60%% opacity), colours over %s. The "
            "weights are stored to 8 bits (within 0.4%%); the JSON output has them exactly."
            "</p>\n</div>\n<script>\nvar MHV={\"model\":",
            STYLE, info->fixed ? "0..1" : "0..the largest weight on a patch");
    js_str(f, info->model);
    fputs(",\"source\":", f);
    js_str(f, info->source);
    fprintf(f, ",\"fixed\":%d,\"aggregate\":", info->fixed ? 1 : 0);
    js_str(f, info->aggregate ? info->aggregate : "");
    fputs(",\"cmap\":[", f);
    for (int i = 0; i < 256; i++) {
        uint8_t rgb[3];
        mhv_cmap_rgb(info->cmap, ((float)i + 0.5f) / 256.0f, rgb);
        fprintf(f, "%s%d,%d,%d", i ? "," : "", rgb[0], rgb[1], rgb[2]);
    }
    fputs("],\"images\":[", f);
    if (ferror(f))
        return mhv_fail(err, MHV_EIO, name, "write failed: %s", strerror(errno));
    return MHV_OK;
}

mhv_status mhv_html_vision_image(FILE *f, const char *name, int index, const char *path,
                                 const mhv_html_vision_picture *pic, const char *const *names,
                                 int query, const mhv_attn *a, const float *pool,
                                 int pool_heads, mhv_error *err)
{
    unsigned char *png;
    size_t len;
    mhv_canvas cv = {pic->width, pic->height, (uint8_t *)(uintptr_t)pic->rgb};
    mhv_status st = mhv_png_to_memory(&cv, &png, &len, err);
    if (st)
        return st;
    fputs(index ? ",\n{\"path\":" : "\n{\"path\":", f);
    js_str(f, path);
    fprintf(f, ",\"w\":%d,\"h\":%d,\"rows\":%d,\"cols\":%d,\"patch\":%d,\"extra\":%d,"
            "\"query\":%d,\"tokens\":[", pic->width, pic->height, pic->rows, pic->cols,
            pic->patch, pic->extra, query);
    for (int i = 0; i < a->n; i++) {
        fputs(i ? "," : "", f);
        js_str(f, names[i]);
    }
    fputs("],\"picture\":\"data:image/png;base64,", f);
    mhv_base64_write(f, png, len);
    free(png);
    fputs("\",\"maps\":[", f);
    size_t nn = (size_t)a->n * (size_t)a->n;
    unsigned char *q = malloc(nn);
    if (!q)
        return mhv_fail(err, MHV_ENOMEM, name, "out of memory");
    for (int k = 0; k < a->count; k++) {
        const mhv_head_attn *h = &a->heads[k];
        for (size_t i = 0; i < nn; i++)
            q[i] = mhv_html_quant(h->w[i]);
        fprintf(f, "%s\n{\"l\":%d,\"h\":%d,\"w\":\"", k ? "," : "", h->layer, h->head);
        mhv_base64_write(f, q, nn);
        fputs("\"}", f);
    }
    /* the pooling head: one row per head, under the layer after the last */
    int L = a->count ? a->heads[a->count - 1].layer + 1 : 0;
    for (int h = 0; pool && h < pool_heads; h++) {
        for (int j = 0; j < a->n; j++)
            q[j] = mhv_html_quant(pool[(size_t)h * (size_t)a->n + (size_t)j]);
        fprintf(f, "%s\n{\"l\":%d,\"h\":%d,\"p\":1,\"w\":\"", a->count || h ? "," : "", L, h);
        mhv_base64_write(f, q, (size_t)a->n);
        fputs("\"}", f);
    }
    free(q);
    fputs("]}", f);
    if (ferror(f))
        return mhv_fail(err, MHV_EIO, name, "write failed: %s", strerror(errno));
    return MHV_OK;
}

mhv_status mhv_html_vision_end(FILE *f, const char *name, mhv_error *err)
{
    fputs("]};\n(function(){var t=document.getElementById('title');t.textContent=MHV.model+"
          "' \\u2014 attention over the image';document.getElementById('src').textContent="
          "MHV.source;})();\n</script>\n<script>\n", f);
    fputs(SCRIPT, f);
    fputs("</script>\n</body>\n</html>\n", f);
    if (ferror(f))
        return mhv_fail(err, MHV_EIO, name, "write failed: %s", strerror(errno));
    return MHV_OK;
}
